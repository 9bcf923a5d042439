// src/compute in real Chromium: module workers, WebGPU (SwiftShader here, a real GPU elsewhere),
// onnxruntime-web with WASM threads on a cross-origin isolated page. Drives e2e/pages/compute.html.
import { expect, type Page, test } from '@playwright/test';
import { openPeer } from './fixtures.ts';

/** Kernels agree with the f64 CPU reference to this (error scaled by the terms' magnitude). */
const REL = 1e-4;
/** ORT through the pool and ORT called directly in the page: same wasm build; thread counts may differ. */
const ONNX_TOLERANCE = 1e-4;

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await openPeer(browser, '/e2e/pages/compute.html');
  const created = await page.evaluate(() => window.computeTest.createPool());
  expect(created.crossOriginIsolated).toBe(true);
});

test.afterAll(async () => {
  await page?.context().close();
});

test('capabilities report WebGPU, WASM SIMD and threads, and positive GFLOP/s, measured once', async () => {
  const { caps, ms, cachedMs } = await page.evaluate(() => window.computeTest.capabilities());
  console.log(`capabilities in ${ms.toFixed(0)} ms: gpu ${caps.gpu?.description || caps.gpu?.architecture} ` +
    `${caps.gflops.gpu} GFLOP/s, cpu ${caps.gflops.cpu} GFLOP/s, cores ${caps.cpu.cores}`);
  expect(caps.cpu.cores).toBeGreaterThanOrEqual(1);
  expect(caps.cpu.crossOriginIsolated).toBe(true);
  expect(caps.cpu.wasmSimd).toBe(true);
  expect(caps.cpu.wasmThreads).toBe(true);
  expect(caps.gpu).toBeDefined();
  expect(caps.gpu!.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  expect(caps.gpu!.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  expect(caps.gflops.gpu).toBeGreaterThan(0);
  expect(caps.gflops.cpu).toBeGreaterThan(0);
  expect(caps.ortEps).toEqual(['wasm', 'webgpu']);
  expect(cachedMs).toBeLessThan(50);
});

test('a 512x512x512 matmul through the pool matches the f64 reference to 1e-4', async () => {
  const r = await page.evaluate(() => window.computeTest.matmul(512, 512, 512));
  console.log(`matmul 512^3 through the pool: ${r.ms.toFixed(0)} ms, ${r.gflops.toFixed(2)} GFLOP/s, max rel error ${r.maxRelError.toExponential(2)}`);
  expect(r.dims).toEqual([512, 512]);
  expect(r.maxRelError).toBeLessThanOrEqual(REL);
});

test('the built-in matmul runs the adapter tuned configuration and matches f64 (vec4 and scalar shapes)', async () => {
  const { caps } = await page.evaluate(() => window.computeTest.capabilities());
  const square = await page.evaluate(() => window.computeTest.matmulTuned(256, 256, 256));
  console.log(`built-in matmul 256^3: ${square.ms.toFixed(0)} ms, ${caps.gflops.gpu} GFLOP/s at tuning, max rel error ${square.maxRelError.toExponential(2)}`);
  expect(square.dims).toEqual([256, 256]);
  expect(square.maxRelError).toBeLessThanOrEqual(REL);
  const ragged = await page.evaluate(() => window.computeTest.matmulTuned(131, 67, 45));
  expect(ragged.dims).toEqual([131, 45]);
  expect(ragged.maxRelError).toBeLessThanOrEqual(REL);
});

test('background tuning times every candidate the probe left untimed and stores a complete choice', async () => {
  test.setTimeout(240_000);
  // The probe above tuned within its budget (SwiftShader compiles 1-5 s per candidate, so some are left);
  // a pool with background tuning times the rest in idle GPU-lane slots.
  const before = await page.evaluate(() => window.computeTest.tuningRecords());
  expect(before).toHaveLength(1);
  await page.evaluate(() => window.computeTest.createPool({ backgroundTuning: true }));
  await page.evaluate(() => window.computeTest.capabilities());
  await expect.poll(async () => (await page.evaluate(() => window.computeTest.tuningRecords()))[0]?.complete, { timeout: 200_000, intervals: [2000] }).toBe(true);
  const [after] = await page.evaluate(() => window.computeTest.tuningRecords());
  console.log(`tuning: ${before[0]!.trials} candidate(s) at the probe, ${after!.trials} after background tuning; choice ${JSON.stringify(after!.config)} at ${after!.gflops.toFixed(2)} GFLOP/s`);
  expect(after!.trials).toBeGreaterThanOrEqual(before[0]!.trials);
  expect(after!.trials).toBeGreaterThan(1);
  // Later checks in this file run on a pool without background work.
  await page.evaluate(() => window.computeTest.createPool());
});

test('a matmul at awkward sizes (100x70x130) matches the f64 reference', async () => {
  const r = await page.evaluate(() => window.computeTest.matmul(100, 70, 130));
  expect(r.maxRelError).toBeLessThanOrEqual(REL);
});

test('every element-wise op matches the f64 reference at an awkward length', async () => {
  const r = await page.evaluate(() => window.computeTest.elementwise(100_003));
  for (const op of ['add', 'mul', 'relu', 'affine'] as const) expect(r[op], op).toBeLessThanOrEqual(REL);
});

test('the PP-OCRv4 detector through the pool matches onnxruntime-web called in the page', async () => {
  const r = await page.evaluate(() => window.computeTest.onnx({ batch: 2, height: 64, width: 128 }));
  console.log(`PP-OCRv4 det 2x3x64x128: pool first ${r.poolMs.toFixed(0)} ms (session + run), pool warm ${r.poolWarmMs.toFixed(0)} ms, ` +
    `page direct ${r.pageMs.toFixed(0)} ms, max abs diff ${r.maxAbsDiff.toExponential(2)}`);
  expect(r.dims).toEqual([2, 1, 64, 128]);
  expect(r.cached).toBe(true);
  expect(r.outMax).toBeGreaterThan(0.5); // text found: the comparison covers a real probability map
  expect(r.outMin).toBeLessThan(0.1);
  expect(r.maxAbsDiff).toBeLessThanOrEqual(ONNX_TOLERANCE);
});

test('with ep webgpu the detector runs on the WebGPU EP (asyncify build) and agrees with wasm', async () => {
  const r = await page.evaluate(() => window.computeTest.onnx({ batch: 1, height: 64, width: 128, ep: 'webgpu' }));
  console.log(`PP-OCRv4 det 1x3x64x128 on the webgpu EP: first ${r.poolMs.toFixed(0)} ms, warm ${r.poolWarmMs.toFixed(0)} ms, ` +
    `max abs diff vs wasm ${r.maxAbsDiff.toExponential(2)}`);
  expect(r.dims).toEqual([1, 1, 64, 128]);
  expect(r.outMax).toBeGreaterThan(0.5);
  expect(r.maxAbsDiff).toBeLessThanOrEqual(ONNX_TOLERANCE);
});

test('a WGSL compile error surfaces on the main thread as MeshError gpu-validation with the compiler message', async () => {
  const r = await page.evaluate(() => window.computeTest.compileError());
  expect(r.isMeshError).toBe(true);
  expect(r.name).toBe('MeshError');
  expect(r.code).toBe('gpu-validation');
  expect(r.message).toContain('not_declared');
});

test('input bytes that disagree with dims surface as a RangeError naming the binding', async () => {
  const r = await page.evaluate(() => window.computeTest.badArgument());
  expect(r.isRangeError).toBe(true);
  expect(r.message).toContain("binding 0 ('a')");
});

test('at gpuCap 0.25 the lane idles about 3x the previous task before the next', async () => {
  const r = await page.evaluate(() => window.computeTest.throttle());
  console.log(`throttle: first ${r.firstMs.toFixed(0)} ms, then ${r.gapMs.toFixed(0)} ms to the second's end`);
  expect(r.gapMs).toBeGreaterThanOrEqual(2.5 * r.firstMs);
});

test('a worker script on another origin starts through the blob shim and runs kernels', async () => {
  await page.evaluate(() => window.computeTest.createPool({ crossOriginWorker: true }));
  const r = await page.evaluate(() => window.computeTest.matmul(64, 33, 65));
  expect(r.maxRelError).toBeLessThanOrEqual(REL);
});

test('terminate() rejects queued work with MeshError cancelled', async () => {
  const r = await page.evaluate(() => window.computeTest.terminate());
  expect(r.code).toBe('cancelled');
});
