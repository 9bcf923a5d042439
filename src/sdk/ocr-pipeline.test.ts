import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDictionary, REC_HEIGHT, type RgbaImage } from '../core/ocr/index.ts';
import { type BestPathOutput, type OcrStage, runOcrPipeline, type StageOutput } from './ocr-pipeline.ts';

const CLASSES = parseDictionary('a\nb\nc');

function blank(width: number, height: number): RgbaImage {
  return { width, height, data: new Uint8ClampedArray(width * height * 4).fill(255) };
}

/**
 * A fake detector that marks rows 8..11 and 20..23 of columns 4..27 of every map as text (two lines), and a fake
 * recogniser that reads each crop as 'ab' (higher crop) or 'c' (lower one), telling them apart by the crop's
 * grey level: the test images are darker below row 16.
 */
function runner(calls: OcrStage[], tamper?: (s: OcrStage, out: StageOutput) => StageOutput) {
  return async (s: OcrStage): Promise<StageOutput> => {
    calls.push(s);
    let out: StageOutput;
    if (s.stage === 'detect') {
      const [n, , h, w] = s.dims as [number, number, number, number];
      const data = new Float32Array(n * h * w);
      for (let i = 0; i < n; i++) for (const y0 of [8, 20]) for (let y = y0; y < y0 + 4; y++) data.fill(0.9, i * h * w + y * w + 4, i * h * w + y * w + 28);
      out = { data, dims: [n, 1, h, w] };
    } else {
      const [n, , , w] = s.dims as [number, number, number, number];
      const steps = w / 8;
      const data = new Float32Array(n * steps * CLASSES.length);
      for (let i = 0; i < n; i++) {
        // B channel of the slot's first pixel: white crops read 'ab', grey ones 'c'.
        const light = s.input[i * 3 * REC_HEIGHT * w]! > 0.5;
        const winners = light ? [1, 0, 2] : [3, 3];
        for (let t = 0; t < steps; t++) data[(i * steps + t) * CLASSES.length + (winners[t] ?? 0)] = t < winners.length ? 0.8 : 1;
      }
      out = { data, dims: [n, steps, CLASSES.length] };
    }
    return tamper ? tamper(s, out) : out;
  };
}

/** A 32 x 32 image, white above row 16 and grey below. */
function twoTone(): RgbaImage {
  const img = blank(32, 32);
  img.data.fill(128, 16 * 32 * 4);
  return img;
}

describe('OCR pipeline', () => {
  it('runOcrPipeline() detects, crops, recognises and decodes each image, lines in reading order', async () => {
    const calls: OcrStage[] = [];
    const results = await runOcrPipeline([twoTone(), twoTone()], CLASSES, runner(calls));
    assert.deepEqual(results.map((r) => r.lines.map((l) => l.text)), [['ab', 'c'], ['ab', 'c']]);
    assert.deepEqual(results[0]!.lines[0]!.box.y < results[0]!.lines[1]!.box.y, true);
    assert.ok(Math.abs(results[0]!.lines[0]!.confidence - 0.8) < 1e-6);
    assert.deepEqual(results.map((r) => [r.width, r.height]), [[32, 32], [32, 32]]);
    // One detector batch for both images (same size), one recogniser batch for the four crops.
    assert.deepEqual(calls.map((c) => [c.stage, ...c.dims]), [['detect', 2, 3, 32, 32], ['recognise', 4, 3, 48, 320]]);
  });

  it('runOcrPipeline() batches images of different detector sizes apart and crops by maxBatch', async () => {
    const calls: OcrStage[] = [];
    await runOcrPipeline([twoTone(), blank(64, 32)], CLASSES, runner(calls), { maxBatch: 3 });
    assert.deepEqual(calls.filter((c) => c.stage === 'detect').map((c) => c.dims), [[1, 3, 32, 32], [1, 3, 32, 64]]);
    assert.deepEqual(calls.filter((c) => c.stage === 'recognise').map((c) => c.dims[0]), [3, 1]);
  });

  it('runOcrPipeline() leaves out lines below minConfidence and empty ones', async () => {
    const results = await runOcrPipeline([twoTone()], CLASSES, runner([]), { minConfidence: 0.9 });
    assert.deepEqual(results[0]!.lines, []);
  });

  it('runOcrPipeline() rejects outputs of the wrong shape before reading them', async () => {
    const wrongDet = runner([], (s, out) => (s.stage === 'detect' ? { data: out.data, dims: [1, 1, 16, 64] } : out));
    await assert.rejects(runOcrPipeline([twoTone()], CLASSES, wrongDet), /detector's output as it must be \[1, 1, 32, 32\]: current dims are \[1,1,16,64\]/);
    const shortRec = runner([], (s, out) => (s.stage === 'recognise' ? { data: new Float32Array(3), dims: out.dims } : out));
    await assert.rejects(runOcrPipeline([twoTone()], CLASSES, shortRec), /recogniser's output as it must be \[2, T, 5\]/);
    const wrongClasses = runner([], (s, out) => (s.stage === 'recognise' ? { data: out.data, dims: [2, out.dims[1]! * 5, 1] } : out));
    await assert.rejects(runOcrPipeline([twoTone()], CLASSES, wrongClasses), /must be \[2, T, 5\]/);
  });

  it('runOcrPipeline() refuses no images and bad images', async () => {
    await assert.rejects(runOcrPipeline([], CLASSES, runner([])), /a call takes 1\.\.256: current count is 0/);
    await assert.rejects(runOcrPipeline([{ width: 4, height: 4, data: new Uint8Array(3) }], CLASSES, runner([])), /image 0 as its data must hold 4x4x4 bytes/);
  });

  it('runOcrPipeline() reads a best-path recogniser (indices + probabilities) as it reads the full table', async () => {
    const table = runner([]);
    const best = async (s: OcrStage): Promise<StageOutput | BestPathOutput> => {
      const out = await table(s);
      return s.stage === 'recognise' ? toBestPath(out) : out;
    };
    const want = await runOcrPipeline([twoTone(), blank(64, 32)], CLASSES, table);
    const got = await runOcrPipeline([twoTone(), blank(64, 32)], CLASSES, best);
    assert.deepEqual(got, want);
    assert.deepEqual(got[0]!.lines.map((l) => l.text), ['ab', 'c']);
  });

  it('runOcrPipeline() rejects a best path of the wrong shape, a class out of range, and a best path from the detector', async () => {
    const table = runner([]);
    const tampered = (fn: (b: BestPathOutput) => BestPathOutput) => async (s: OcrStage): Promise<StageOutput | BestPathOutput> => {
      const out = await table(s);
      return s.stage === 'recognise' ? fn(toBestPath(out)) : out;
    };
    await assert.rejects(runOcrPipeline([twoTone()], CLASSES, tampered((b) => ({ ...b, dims: [2, b.dims[1]! - 1] }))), /best path as it must be \[2, T\]/);
    await assert.rejects(runOcrPipeline([twoTone()], CLASSES, tampered((b) => ({ ...b, probs: new Float32Array(1) }))), /best path as it must be \[2, T\]: current dims are \[2,40\] with 80 indices and 1 probabilities/);
    await assert.rejects(runOcrPipeline([twoTone()], CLASSES, tampered((b) => ({ ...b, indices: new BigInt64Array(b.indices.length).fill(99n) }))), /class must be an integer in 0\.\.4: current value is 99/);
    const detBest = async (s: OcrStage): Promise<StageOutput | BestPathOutput> => ({ indices: [0], probs: [1], dims: s.dims });
    await assert.rejects(runOcrPipeline([twoTone()], CLASSES, detBest), /detector's output as it must be a probability map/);
  });
});

/** The best path of a full table [N, T, C]: argmax (first on ties) and max of each row, indices as int64. */
function toBestPath(out: StageOutput): BestPathOutput {
  const [n, steps, c] = out.dims as [number, number, number];
  const indices = new BigInt64Array(n * steps);
  const probs = new Float32Array(n * steps);
  for (let r = 0; r < n * steps; r++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (out.data[r * c + k]! > out.data[r * c + best]!) best = k;
    indices[r] = BigInt(best);
    probs[r] = out.data[r * c + best]!;
  }
  return { indices, probs, dims: [n, steps] };
}
