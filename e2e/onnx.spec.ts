// The compute worker's ONNX path in real Chromium: `ep: 'auto'` (the default) measures the PP-OCRv4 detector
// once per model, adapter and thread count, records the choice in IndexedDB, reuses it from memory and, in a
// new pool, from IndexedDB; sessions are reused; the probe's webgpu leg (skipped by default on SwiftShader,
// a fallback adapter) runs and compares EPs when forced. Drives e2e/pages/onnx.html.
import { expect, type Page, test } from '@playwright/test';
import type { RunReport } from './pages/onnx.ts';

/** Pool outputs vs onnxruntime-web in the page: same wasm build, thread counts may differ. */
const ONNX_TOLERANCE = 1e-4;
/** The pool's tasks: one rendered text image, as contributors get in the mesh specs. */
const SHAPE = { batch: 1, height: 160, width: 320 };
/** The forced webgpu leg's input: small, as SwiftShader runs this model 50-100x slower than wasm. */
const SMALL = { batch: 1, height: 32, width: 64 };

test.describe.configure({ mode: 'serial' });

let page: Page;
let hash: string;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.text().startsWith('meshwork:')) console.log(`[console] ${msg.text()}`);
  });
  await page.goto('/e2e/pages/onnx.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  expect((await page.evaluate(() => window.onnxTest.createPool())).crossOriginIsolated).toBe(true);
  hash = await page.evaluate(() => window.onnxTest.modelHash());
});

test.afterAll(async () => {
  await page?.close();
});

function chosen(r: RunReport) {
  return r.events.flatMap((e) => (e.type === 'ep-chosen' ? [e] : []));
}

function created(r: RunReport) {
  return r.events.flatMap((e) => (e.type === 'session-created' ? [e] : []));
}

function expectDetectorOutput(r: RunReport) {
  expect(r.dims).toEqual([SHAPE.batch, 1, SHAPE.height, SHAPE.width]);
  expect(r.outMax).toBeGreaterThan(0.5); // text found: the comparison covers a real probability map
  expect(r.outMin).toBeLessThan(0.1);
  expect(r.maxAbsDiff).toBeLessThanOrEqual(ONNX_TOLERANCE);
}

let probeMs = 0;

test('a task without ep probes the detector, records the chosen EP, and matches ORT in the page', async () => {
  const r = await page.evaluate((s) => window.onnxTest.run({ ...s, sendModel: true }), SHAPE);
  const [event, ...more] = chosen(r);
  expect(more).toEqual([]);
  expect(event?.source).toBe('probe');
  const choice = event!.choice;
  console.log(`probe: ${choice.ep} (${choice.reason}); wasm ${choice.wasmMs.toFixed(1)} ms at ${choice.threads} threads, ` +
    `adapter '${choice.adapter}', first task ${r.ms.toFixed(0)} ms, max abs diff vs page ${r.maxAbsDiff.toExponential(2)}`);
  expect(['wasm', 'webgpu']).toContain(choice.ep);
  expect(choice.modelHash).toBe(hash);
  expect(choice.wasmMs).toBeGreaterThan(0);
  expect(choice.inputDims).toEqual([[SHAPE.batch, 3, SHAPE.height, SHAPE.width]]);
  expectDetectorOutput(r);
  probeMs = r.ms;

  const stored = await page.evaluate(() => window.onnxTest.storedChoices());
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ key: choice.key, ep: choice.ep, measuredAt: choice.measuredAt });
});

test('a second task (ep auto, no model bytes) reuses the choice from memory without probing', async () => {
  const r = await page.evaluate((s) => window.onnxTest.run({ ...s, ep: 'auto', sendModel: false }), SHAPE);
  const [event, ...more] = chosen(r);
  expect(more).toEqual([]);
  expect(event?.source).toBe('memory');
  expect(created(r)).toEqual([]); // the probe's session serves
  console.log(`reuse from memory: ${r.ms.toFixed(0)} ms (probing task ${probeMs.toFixed(0)} ms)`);
  expect(r.ms).toBeLessThan(probeMs);
  expectDetectorOutput(r);
  const stored = await page.evaluate(() => window.onnxTest.storedChoices());
  expect(stored).toHaveLength(1);
  expect(stored[0]!.measuredAt).toBe(event!.choice.measuredAt);
});

test('the choice survives a new pool: its worker reads it from IndexedDB and does not probe', async () => {
  const before = await page.evaluate(() => window.onnxTest.storedChoices());
  await page.evaluate(() => window.onnxTest.createPool());
  const r = await page.evaluate((s) => window.onnxTest.run({ ...s, sendModel: true }), SHAPE);
  const [event, ...more] = chosen(r);
  expect(more).toEqual([]);
  expect(event?.source).toBe('store');
  expect(event!.choice).toMatchObject({ key: before[0]!.key, ep: before[0]!.ep, measuredAt: before[0]!.measuredAt });
  expect(created(r).map((e) => e.ep)).toEqual([event!.choice.ep]); // one session, on the chosen EP only
  expectDetectorOutput(r);
});

test('two tasks on one model (model bytes sent both times) create one session', async () => {
  await page.evaluate(() => window.onnxTest.createPool());
  const a = await page.evaluate((s) => window.onnxTest.run({ ...s, ep: 'wasm', sendModel: true }), SHAPE);
  const b = await page.evaluate((s) => window.onnxTest.run({ ...s, ep: 'wasm', sendModel: true }), SHAPE);
  expect(created(a).map((e) => e.ep)).toEqual(['wasm']);
  expect(created(b)).toEqual([]);
  expect(chosen(a)).toEqual([]); // an explicit EP never probes
  expectDetectorOutput(b);
});

test('forced onto a fallback adapter, the probe measures webgpu too and compares its outputs with wasm', async () => {
  // winMargin is lifted so SwiftShader's slow timed run still completes and the comparison happens, and
  // minWasmMs dropped as wasm takes ~5 ms at this size; the warm-up cap covers SwiftShader's shader compiles
  // (12-40 s on this machine).
  const r = await page.evaluate((s) => window.onnxTest.probeInPage({
    ...s,
    policy: { includeFallbackAdapters: true, minWasmMs: 0, webgpuWarmupCapMs: 120_000, winMargin: 1_000 },
  }), SMALL);
  const c = r.choice!;
  console.log(`forced webgpu leg: ${c.ep} (${c.reason}); wasm ${c.wasmMs.toFixed(1)} ms, webgpu warm-up ` +
    `${c.webgpuWarmupMs?.toFixed(0)} ms, timed ${c.webgpuMs?.toFixed(1)} ms, probe ${r.ms.toFixed(0)} ms`);
  expect(r.sessionEps.sort()).toEqual(['wasm', 'webgpu']);
  expect(c.webgpuMs).toBeGreaterThan(0);
  expect(c.maxAbsDiff).toBeLessThanOrEqual(1e-3);
  expect(r.maxAbsDiff).toBeLessThanOrEqual(1e-3); // whichever EP won, its outputs are the task's
});
