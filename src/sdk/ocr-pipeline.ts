/**
 * The OCR pipeline, whoever runs the models: each image's detector input (images of one input size share a
 * batch), boxes from each probability map, crops batched by width for the recogniser, CTC decoding. The two model
 * runs go through a StageRunner: mesh jobs (ocr-run.ts) or onnxruntime-web in the page (ocr-local.ts), so both
 * paths compute the same tensors and decode them the same way. The recogniser's answer may be its full
 * probability table or its best path (indices and their probabilities: the edited model of ocr-recogniser.ts);
 * both decode to the same text. A runner's outputs are untrusted: their shapes are checked against what was
 * asked before any is read.
 */
import {
  type Crop,
  ctcBestPath,
  ctcGreedy,
  detBoxes,
  type DetBox,
  detInput,
  detInputSize,
  type DetSize,
  planRecBatches,
  REC_HEIGHT,
  recInput,
  recSteps,
  recWidth,
  type RgbaImage,
} from '../core/ocr/index.ts';
import { MeshError } from '../protocol/errors.ts';
import type { OcrPipelineOptions, OcrResult } from './types.ts';

/** Default crops per recogniser batch. */
export const DEFAULT_OCR_BATCH = 16;
/** Default confidence below which a line is left out (PaddleOCR's drop_score). */
export const DEFAULT_MIN_CONFIDENCE = 0.5;
/** Most images one call reads. */
export const MAX_OCR_IMAGES = 256;
/**
 * Model runs in flight at once (a mesh job each: the coordinator admits 16 per client). A batch's input tensor is
 * built only when its run starts, so memory holds this many batches, not every crop of the call.
 */
export const MAX_STAGE_RUNS = 4;

/** One model run the pipeline asks for: an f32 NCHW input named `x`. */
export interface OcrStage {
  stage: 'detect' | 'recognise';
  input: Float32Array;
  dims: number[];
}

/** A model run's first output (the detector's map, or a recogniser's full table [N, T, classes]). */
export interface StageOutput {
  data: ArrayLike<number>;
  dims: readonly number[];
}

/** A recogniser's best path: the class chosen at each step and its probability, both [N, T]. */
export interface BestPathOutput {
  indices: ArrayLike<number | bigint>;
  probs: ArrayLike<number>;
  dims: readonly number[];
}

/** Runs one stage's model over one batch; a recogniser may answer with its best path. */
export type StageRunner = (stage: OcrStage) => Promise<StageOutput | BestPathOutput>;

/** Reads every image: detection, cropping, recognition, decoding. `classes` come from parseDictionary. */
export async function runOcrPipeline(images: readonly RgbaImage[], classes: readonly string[], run: StageRunner, opts: OcrPipelineOptions = {}): Promise<OcrResult[]> {
  if (images.length < 1 || images.length > MAX_OCR_IMAGES) {
    throw new RangeError(`Cannot read images as a call takes 1..${MAX_OCR_IMAGES}: current count is ${images.length}`);
  }
  const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const boxes = await detect(images, run, opts);

  const crops: Crop[] = boxes.flatMap((list, image) => list.map((rect) => ({ image, rect })));
  const widths = crops.map((c) => recWidth(c.rect));
  const texts: { text: string; confidence: number }[] = new Array(crops.length);
  await eachLimited(planRecBatches(widths, opts.maxBatch ?? DEFAULT_OCR_BATCH), async (batch) => {
    const n = batch.crops.length;
    const out = await run({ stage: 'recognise', input: recInput(images, crops, batch), dims: [n, 3, REC_HEIGHT, batch.width] });
    const decode = recDecoder(out, n, classes);
    batch.crops.forEach((c, k) => (texts[c] = decode(k, widths[c]!)));
  });

  const results: OcrResult[] = images.map(({ width, height }) => ({ width, height, lines: [] }));
  crops.forEach((crop, i) => {
    const { text, confidence } = texts[i]!;
    if (text.trim() === '' || confidence < minConfidence) return;
    const { x, y, width, height } = crop.rect;
    results[crop.image]!.lines.push({ text, box: { x, y, width, height }, confidence });
  });
  return results;
}

/** Checks a recogniser batch's output of `n` items; returns the decoder of item k, a crop `width` pixels wide. */
function recDecoder(out: StageOutput | BestPathOutput, n: number, classes: readonly string[]): (k: number, width: number) => { text: string; confidence: number } {
  const [items, steps] = out.dims;
  if ('indices' in out) {
    if (out.dims.length !== 2 || items !== n || !(steps! >= 1) || out.indices.length !== n * steps! || out.probs.length !== n * steps!) {
      throw new MeshError('invalid-message', `Cannot decode the recogniser's best path as it must be [${n}, T]: current dims are [${out.dims}] with ${out.indices.length} indices and ${out.probs.length} probabilities`);
    }
    return (k, width) => ctcBestPath(out.indices, out.probs, k * steps!, recSteps(width, steps!), classes);
  }
  const width = out.dims[2];
  if (out.dims.length !== 3 || items !== n || width !== classes.length || !(steps! >= 1) || out.data.length !== n * steps! * width) {
    throw new MeshError('invalid-message', `Cannot decode the recogniser's output as it must be [${n}, T, ${classes.length}]: current dims are [${out.dims}] with ${out.data.length} values`);
  }
  return (k, w) => ctcGreedy(out.data, k * steps! * width, recSteps(w, steps!), classes);
}

/** Each image's boxes in reading order; one detector batch per distinct input size. */
async function detect(images: readonly RgbaImage[], run: StageRunner, opts: OcrPipelineOptions): Promise<DetBox[][]> {
  const groups = new Map<string, { size: DetSize; members: number[] }>();
  images.forEach((img, i) => {
    const size = detInputSize(img.width, img.height, opts.limitSide);
    const key = `${size.width}x${size.height}`;
    const group = groups.get(key) ?? { size, members: [] };
    group.members.push(i);
    groups.set(key, group);
  });
  const boxes: DetBox[][] = new Array(images.length);
  await eachLimited([...groups.values()], async ({ size, members }) => {
    const { width: w, height: h } = size;
    const n = members.length;
    const out = await run({ stage: 'detect', input: detInput(members.map((i) => images[i]!), size), dims: [n, 3, h, w] });
    if ('indices' in out) throw new MeshError('invalid-message', "Cannot read the detector's output as it must be a probability map: current value is a best path");
    if (out.dims.join() !== [n, 1, h, w].join() || out.data.length !== n * h * w) {
      throw new MeshError('invalid-message', `Cannot read the detector's output as it must be [${n}, 1, ${h}, ${w}]: current dims are [${out.dims}] with ${out.data.length} values`);
    }
    members.forEach((i, k) => (boxes[i] = detBoxes(out.data, k * h * w, h, w, images[i]!, opts.box)));
  });
  return boxes;
}

/** Calls `fn` on every item, at most MAX_STAGE_RUNS at once; rejects with the first failure (no new calls after it). */
async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_STAGE_RUNS, items.length) }, lane));
}
