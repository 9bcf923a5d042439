// A model no single contributor may hold, run by the mesh anyway. Every contributor states a memory budget for
// models (ContributeOptions.modelMemoryMB = BUDGET_MB); the matcher gives none of them a model whose session needs
// more (about ONNX_MEMORY_FACTOR x its bytes). The model: a deep MLP built in the client page, WEIGHT_MB of float32
// weights, so that the whole needs ~4 x WEIGHT_MB, more than any budget. A plain ONNX job of it waits, and the
// client hears why ('no-capable', naming the budget); the same model as a pipeline of STAGES stages, split by
// weight bytes, runs on STAGES contributors, one stage each, and equals the whole model run in the client page
// (onnxruntime-web, wasm) within 1e-4.
import { expect, type Page, test } from '@playwright/test';
import { closeLeftoverPeers, connectPeer, ledger, openPeer, type PeerWindow } from './fixtures.ts';
import { ONNX_MEMORY_FACTOR } from '../src/core/kernels/onnx.ts';

/** Memory (MiB) each contributor lets models take. */
const BUDGET_MB = Number(process.env.MESHWORK_E2E_BIG_BUDGET_MB ?? 512);
/** The MLP: LAYERS layers of WIDTH x WIDTH float32 weights (default 20 x 2048: 320 MiB of weights). */
const WIDTH = Number(process.env.MESHWORK_E2E_BIG_WIDTH ?? 2048);
const LAYERS = Number(process.env.MESHWORK_E2E_BIG_LAYERS ?? 20);
const STAGES = Number(process.env.MESHWORK_E2E_BIG_STAGES ?? 4);
const ITEMS = 8;
const TOLERANCE = 1e-4;

test.describe.configure({ mode: 'serial' });

test.afterEach(async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
});

/** Builds the model in the client page (kept as a blob URL on window.big) and runs it whole there for reference. */
function buildModel(page: Page) {
  return page.evaluate(async ({ layers, width, items }) => {
    const { ort, deepMlp } = window.meshTest;
    const bytes = deepMlp({ layers, width, seed: 11 });
    const x = Float32Array.from({ length: items * width }, (_, i) => Math.sin(i * 0.37));
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const ref = (await session.run({ x: new ort.Tensor('float32', x.slice(), [items, width]) })).y!;
    await session.release();
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    (window as unknown as { big: unknown }).big = { url, x, ref: ref.data as Float32Array };
    return { bytes: bytes.byteLength, refDims: [...ref.dims] };
  }, { layers: LAYERS, width: WIDTH, items: ITEMS });
}

test('a model over every contributor\'s budget waits as a plain job and runs as a pipeline, equal to the whole model', async ({ browser }) => {
  test.setTimeout(600_000);
  // Absurd budgets are refused before anything starts.
  const probe = await openPeer(browser);
  const refused = await probe.evaluate(async () => {
    const mesh = await window.meshTest.sdk.connect();
    const out: string[] = [];
    for (const bad of [0, 15, 1.5, -1, 2 ** 40, Number.NaN]) {
      out.push(await mesh.contributor.start({ modelMemoryMB: bad, backgroundTuning: false }).then(() => 'started', (e: Error) => `${e.name}: ${e.message}`));
    }
    out.push(mesh.contributor.state);
    await mesh.close();
    return out;
  });
  expect(refused.pop()).toBe('stopped');
  for (const r of refused) expect(r).toMatch(/^RangeError: Cannot start contributing as 'modelMemoryMB' must be an integer from 16 to 1048576/);
  await probe.context().close();

  const peers = await Promise.all(Array.from({ length: STAGES }, async () => {
    const page = await openPeer(browser);
    return { page, id: await connectPeer(page, { contribute: true, modelMemoryMB: BUDGET_MB }) };
  }));
  for (const p of peers) expect(await p.page.evaluate(() => (window as unknown as PeerWindow).peer.mesh.contributor.capabilities?.modelMemoryMB)).toBe(BUDGET_MB);
  const client = await openPeer(browser);
  await connectPeer(client);
  const model = await buildModel(client);
  const budget = BUDGET_MB * 2 ** 20;
  console.log(`big model: ${(model.bytes / 2 ** 20).toFixed(1)} MiB (${LAYERS} x ${WIDTH}x${WIDTH} float32), needs ~${(model.bytes * ONNX_MEMORY_FACTOR / 2 ** 20).toFixed(0)} MiB; budget ${BUDGET_MB} MiB per contributor, ${STAGES} contributors`);
  expect(model.bytes * ONNX_MEMORY_FACTOR).toBeGreaterThan(budget);
  expect(model.refDims).toEqual([ITEMS, WIDTH]);

  // The whole model as a plain ONNX job: nobody may take it; the client hears why, then cancels.
  const plain = await client.evaluate(async ({ items, width }) => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    const { url, x } = (window as unknown as { big: { url: string; x: Float32Array } }).big;
    const job = mesh.client.runOnnx({ model: { url, name: 'deep MLP (whole)' }, inputs: { x: { dtype: 'float32', dims: [items, width], data: x } }, outputs: ['y'], itemsPerShard: 2, verifyFraction: 0 });
    job.result.catch(() => {});
    job.cost.catch(() => {});
    const wait = await new Promise<{ code: string; message: string; online: number; capable: number }>((resolve) => {
      job.addEventListener('progress', (e) => {
        const w = (e as CustomEvent<{ wait?: { code: string; message: string; online: number; capable: number } }>).detail.wait;
        if (w && w.code !== 'no-contributors') resolve(w);
      });
    });
    const events: string[] = [];
    job.addEventListener('progress', (e) => events.push((e as CustomEvent<{ state: string }>).detail.state));
    await job.cancel();
    const end = await job.result.then(() => 'done', (e: Error) => e.message);
    return { wait, end, assigned: events.filter((s) => s === 'assigned').length };
  }, { items: ITEMS, width: WIDTH });
  console.log(`plain job: ${plain.wait.code}: ${plain.wait.message}`);
  expect(plain.wait.code).toBe('no-capable');
  expect(plain.wait.online).toBe(STAGES);
  expect(plain.wait.capable).toBe(0);
  expect(plain.wait.message).toMatch(new RegExp(`more than the ${BUDGET_MB} MiB the contributor allows for models`));
  expect(plain.assigned).toBe(0);
  for (const p of peers) expect(await p.page.evaluate(() => (window as unknown as PeerWindow).peer.mesh.contributor.stats.shardsRun)).toBe(0);

  // The same model as a pipeline: split by weight bytes into stages that fit, one per contributor.
  const r = await client.evaluate(async ({ items, width, stages }) => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    const { url, x, ref } = (window as unknown as { big: { url: string; x: Float32Array; ref: Float32Array } }).big;
    const job = mesh.client.runPipeline({ model: { url, name: 'deep MLP' }, stages, inputs: { x: { dtype: 'float32', dims: [items, width], data: x } }, outputs: ['y'], microBatch: 2, verifyFraction: 0 });
    const settled: { stage: number; contributor: string }[] = [];
    job.addEventListener('progress', (e) => {
      const d = (e as CustomEvent<{ stage: number; state: string; contributor?: string }>).detail;
      if (d.state === 'settled' && d.contributor) settled.push({ stage: d.stage, contributor: d.contributor });
    });
    const t0 = performance.now();
    const y = (await job.result).y!;
    const ms = performance.now() - t0;
    const plan = await job.plan;
    const data = y.data as Float32Array;
    let maxAbs = data.length === ref.length ? 0 : Infinity;
    for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(data[i]! - ref[i]!));
    const byStage = plan.map((_, s) => [...new Set(settled.filter((e) => e.stage === s).map((e) => e.contributor))]);
    return { ms, dims: [...y.dims], maxAbs, bytes: plan.map((p) => p.bytes), weightBytes: plan.map((p) => p.weightBytes ?? 0), byStage, cost: await job.cost };
  }, { items: ITEMS, width: WIDTH, stages: STAGES });
  console.log(`pipeline: ${r.ms.toFixed(0)} ms, max abs diff ${r.maxAbs.toExponential(2)}, stage bytes ${r.bytes.map((b) => (b / 2 ** 20).toFixed(1)).join('/')} MiB, ` +
    `stages on ${JSON.stringify(r.byStage.map((s) => s.map((p) => p.slice(0, 8))))}, spent ${r.cost.spent}`);
  expect(r.dims).toEqual([ITEMS, WIDTH]);
  expect(r.maxAbs).toBeLessThanOrEqual(TOLERANCE);
  expect(r.bytes).toHaveLength(STAGES);
  // Each stage fits a budget the whole model does not.
  for (const b of r.bytes) expect(b * ONNX_MEMORY_FACTOR).toBeLessThanOrEqual(budget);
  // Every stage ran, each on contributors of its own.
  const all = r.byStage.flat();
  for (const s of r.byStage) expect(s.length).toBeGreaterThan(0);
  expect(new Set(all).size).toBe(all.length);
  expect(r.cost.source).toBe('coordinator');
  const books = await ledger(client);
  expect(books.total).toBe(books.minted);
});
