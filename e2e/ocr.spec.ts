// OCR end to end: 50 rendered text lines (fixed seed; DejaVu Sans, Serif and Mono at 20-40 px) on five page
// images are read through the mesh with `client.ocr` (the PP-OCRv4 detector, then the recogniser over the crops,
// as ONNX jobs run by two contributor browsers) and with `ocrLocal` (the same pipeline, onnxruntime-web in the
// client page). The mesh must read at least 97% of the characters right and agree with the local run line for
// line: same text, same boxes. Then the Run tab's OCR panel reads a picked PNG through the same contributors.
import { expect, test } from '@playwright/test';
import { characterAccuracy } from '../src/core/ocr/accuracy.ts';
import { planRecBatches, REC_HEIGHT, REC_STEP, recWidth } from '../src/core/ocr/rec-input.ts';
import { closeLeftoverPeers, connectPeer, openPeer, type PeerWindow } from './fixtures.ts';
import { openApp } from './pwa-helpers.ts';

const SEED = 20_251_203;
const LINES = 50;
const PER_PAGE = 10;
const MIN_ACCURACY = 0.97;
/** Classes of the PP-OCRv4 recogniser (ppocr_keys_v1: 6,623 entries, blank and space). */
const REC_CLASSES = 6625;
/** Recogniser crops per batch (ocr-pipeline.ts DEFAULT_OCR_BATCH). */
const REC_BATCH = 16;

/**
 * Bytes a recogniser run moves per line, from the shapes of its tensors for these lines' boxes (batched as the
 * pipeline batches them): f32 input [n, 3, 48, W] to the contributor, and back the full table f32 [n, W/8, 6625]
 * (before) or the best path, int64 + f32 [n, W/8] (now).
 */
function recBytesPerLine(boxes: { width: number; height: number }[]): { input: number; table: number; bestPath: number } {
  const batches = planRecBatches(boxes.map((b) => recWidth({ x: 0, y: 0, ...b })), REC_BATCH);
  let input = 0;
  let steps = 0;
  for (const b of batches) {
    input += b.crops.length * 3 * REC_HEIGHT * b.width * 4;
    steps += b.crops.length * (b.width / REC_STEP);
  }
  const per = (n: number) => Math.round(n / boxes.length);
  return { input: per(input), table: per(steps * REC_CLASSES * 4), bestPath: per(steps * (8 + 4)) };
}

test.describe.configure({ mode: 'serial' });
test.beforeAll(async ({ browser, request }) => closeLeftoverPeers(browser, request));
test.afterAll(async ({ browser, request }) => closeLeftoverPeers(browser, request));

test('50 rendered lines read through the mesh at >= 97% character accuracy, identical to the pipeline run in the page', async ({ browser }) => {
  const contributors = await Promise.all([0, 1].map(() => openPeer(browser)));
  const contributorIds = await Promise.all(contributors.map((page) => connectPeer(page, { contribute: true })));
  const client = await openPeer(browser);
  await connectPeer(client);

  const run = await client.evaluate(async ({ seed, total, perPage }) => {
    const { sdk, renderOcrPages, characterAccuracy } = window.meshTest;
    const { mesh } = (window as unknown as PeerWindow).peer;
    const pages = renderOcrPages(seed, total, perPage);
    const images = pages.map((p) => p.image);
    const stages: string[] = [];
    let t0 = performance.now();
    const handle = mesh.client.ocr(images, { verifyFraction: 0 });
    handle.addEventListener('progress', (e) => {
      const stage = (e as CustomEvent<{ stage: string }>).detail.stage;
      if (stages.at(-1) !== stage) stages.push(stage);
    });
    const viaMesh = await handle.result;
    const meshMs = performance.now() - t0;
    const cost = await handle.cost;
    t0 = performance.now();
    const local = await sdk.ocrLocal(images);
    const localMs = performance.now() - t0;
    const read = (r: typeof viaMesh) => r.map((page) => page.lines.map((l) => l.text).join(' '));
    const truth = pages.map((p) => p.lines.join(' '));
    const meshText = read(viaMesh);
    const accuracy = (texts: string[]) => characterAccuracy(truth.join('\n'), texts.join('\n'));
    return {
      truth,
      meshText,
      localText: read(local),
      meshLines: viaMesh.map((p) => p.lines),
      localLines: local.map((p) => p.lines),
      meshAccuracy: accuracy(meshText),
      localAccuracy: accuracy(read(local)),
      perPage: truth.map((t, i) => characterAccuracy(t, meshText[i]!)),
      lineCounts: viaMesh.map((p) => p.lines.length),
      stages,
      jobs: handle.jobIds.length,
      cost,
      meshMs,
      localMs,
    };
  }, { seed: SEED, total: LINES, perPage: PER_PAGE });

  console.log(`OCR: ${LINES} lines on ${run.truth.length} pages; mesh ${(run.meshAccuracy * 100).toFixed(2)}% in ${run.meshMs.toFixed(0)} ms ` +
    `(${run.jobs} jobs, spent ${run.cost.spent} µcredits), local ${(run.localAccuracy * 100).toFixed(2)}% in ${run.localMs.toFixed(0)} ms; ` +
    `lines found per page ${run.lineCounts.join(', ')}; per-page accuracy ${run.perPage.map((a) => a.toFixed(3)).join(', ')}`);
  const moved = recBytesPerLine(run.meshLines.flat().map((l) => l.box));
  console.log(`OCR recogniser bytes per line: input ${moved.input} B to the contributor; back ${moved.bestPath} B as best path ` +
    `(the full table would be ${moved.table} B, ${(moved.table / moved.bestPath).toFixed(0)}x as much)`);
  run.truth.forEach((t, i) => {
    if (t !== run.meshText[i]) console.log(`page ${i}\n  truth: ${t}\n  read:  ${run.meshText[i]}`);
  });

  expect(run.meshAccuracy).toBeGreaterThanOrEqual(MIN_ACCURACY);
  expect(run.lineCounts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(LINES);
  // The mesh and the page ran the same pipeline on the same models: same text, same boxes, same confidence.
  expect(run.meshText).toEqual(run.localText);
  expect(run.meshLines.map((p) => p.map((l) => l.box))).toEqual(run.localLines.map((p) => p.map((l) => l.box)));
  run.meshLines.flat().forEach((l, i) => expect(Math.abs(l.confidence - run.localLines.flat()[i]!.confidence)).toBeLessThan(1e-4));
  expect(run.stages).toEqual(['detect', 'recognise', 'done']);
  expect(run.cost.source).toBe('coordinator');
  expect(run.cost.spent).toBeGreaterThan(0);

  // The work went to the contributors: both ran shards of it.
  const ran = await Promise.all(contributors.map((page) => page.evaluate(() => (window as unknown as PeerWindow).peer.shards.filter((s) => s.phase === 'done').length)));
  console.log(`shards run per contributor: ${ran.join(', ')} (${contributorIds.join(', ')})`);
  expect(ran.every((n) => n > 0)).toBe(true);
});

test('the Run tab reads a picked image on the mesh: boxes drawn over it, each line with its confidence', async ({ browser }) => {
  // A PNG of four rendered lines, made in a harness page (the contributors of the previous test still serve).
  const maker = await openPeer(browser);
  const { png, lines } = await maker.evaluate(async () => {
    const [page] = window.meshTest.renderOcrPages(99, 4, 4);
    const canvas = new OffscreenCanvas(page!.image.width, page!.image.height);
    canvas.getContext('2d')!.putImageData(page!.image, 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    return { png: Array.from(new Uint8Array(await blob.arrayBuffer())), lines: page!.lines };
  });
  await maker.context().close();

  const app = await openApp(browser, '#run');
  await app.getByTestId('ocr-file').setInputFiles({ name: 'lines.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  await app.getByTestId('ocr-run').click();
  await expect(app.getByTestId('ocr-progress')).toHaveAttribute('state', 'done', { timeout: 120_000 });
  const read = await app.getByTestId('ocr-line').evaluateAll((els) => els.map((el) => ({
    text: el.getAttribute('data-text') ?? '',
    confidence: Number(el.getAttribute('data-confidence')),
  })));
  console.log(`Run tab read: ${read.map((l) => `${l.text} (${l.confidence.toFixed(3)})`).join(' | ')}`);
  expect(read).toHaveLength(lines.length);
  expect(characterAccuracy(lines.join(' '), read.map((l) => l.text).join(' '))).toBeGreaterThanOrEqual(MIN_ACCURACY);
  for (const l of read) expect(l.confidence).toBeGreaterThan(0.5);
  await expect(app.getByTestId('ocr-summary')).toContainText('credits');
  await expect(app.getByTestId('history-row').filter({ hasText: 'OCR' })).toHaveCount(1);
  await app.context().close();
});
