// The whole mesh end to end: a real coordinator, three contributor browsers and one client browser
// (separate contexts, own keys), real WebRTC on loopback, real workers running ORT and WGSL.
import { expect, test, type Page } from '@playwright/test';
import { closeLeftoverPeers, connectClient, ledger, openPeer, startContributor } from './fixtures.ts';

const MICRO = 1_000_000;
const STARTER = 1000 * MICRO;
const IMAGES = 12;
const H = 96;
const W = 160;
/** Outputs of the mesh and of ORT run directly in the client page must agree to this absolute tolerance
 * (both are onnxruntime-web wasm; thread counts may differ, which reorders float sums in the last bits). */
const ONNX_TOLERANCE = 1e-4;

async function balances(page: Page, ids: string[]): Promise<number[]> {
  const audit = await ledger(page);
  return ids.map((id) => audit.accounts[`peer:${id}`] ?? 0);
}

test.describe.configure({ mode: 'serial' });
// Each test starts from a mesh with no contributors online, so its shards can only go to its own peers.
test.beforeEach(async ({ browser, request }) => closeLeftoverPeers(browser, request));
test.afterAll(async ({ browser, request }) => closeLeftoverPeers(browser, request));

test('a real ONNX model and a WGSL matmul run across three contributor browsers, verified and paid', async ({ browser, request }) => {
  const mintedBefore = (await (await request.get('/api/ledger')).json() as { minted: number }).minted;
  const contributors = await Promise.all([0, 1, 2].map(() => openPeer(browser)));
  const contributorIds = [];
  for (const page of contributors) contributorIds.push(await startContributor(page));
  const client = await openPeer(browser);
  const clientId = await connectClient(client);
  expect(new Set([...contributorIds, clientId]).size).toBe(4);
  const feesBefore = (await ledger(client)).accounts['fees'] ?? 0;

  // 1. PP-OCRv4 text detector over 12 rendered text images, 2 per shard, a third of shards replicated.
  const onnx = await client.evaluate(
    async ({ n, h, w }) => {
      const { ort, renderTextImages } = window.meshTest;
      const mesh = (window as unknown as { mesh: Awaited<ReturnType<typeof window.meshTest.sdk.connect>> }).mesh;
      const models = (await (await fetch('/models/index.json')).json()) as { id: string; url: string; outputs: string[] }[];
      const model = models.find((m) => m.id === 'ppocr-det-v4')!;
      const x = renderTextImages(n, h, w);
      const progress: number[] = [];
      const job = mesh.client.runOnnx({
        model: { url: model.url, name: model.id },
        inputs: { x: { dtype: 'float32', dims: [n, 3, h, w], data: x } },
        outputs: model.outputs,
        itemsPerShard: 2,
        verifyFraction: 0.34,
        tolerance: { abs: 1e-4, rel: 1e-3 },
      });
      job.addEventListener('progress', (e) => progress.push((e as CustomEvent<{ done: number }>).detail.done));
      const result = await job.result;
      const cost = await job.cost;
      const out = result[model.outputs[0]!]!;
      // Reference: the same model through onnxruntime-web directly in this page.
      const session = await ort.InferenceSession.create(model.url, { executionProviders: ['wasm'] });
      const ref = (await session.run({ x: new ort.Tensor('float32', x, [n, 3, h, w]) }))[model.outputs[0]!]!;
      const refData = ref.data as Float32Array;
      const got = out.data as Float32Array;
      let maxAbs = 0;
      for (let i = 0; i < refData.length; i++) maxAbs = Math.max(maxAbs, Math.abs(refData[i]! - got[i]!));
      let textPixels = 0;
      for (const v of refData) if (v > 0.3) textPixels++;
      return {
        jobId: await job.jobId,
        dims: out.dims,
        refDims: ref.dims,
        length: got.length,
        maxAbs,
        textFraction: textPixels / refData.length,
        progress,
        cost,
      };
    },
    { n: IMAGES, h: H, w: W },
  );
  expect(onnx.dims).toEqual([IMAGES, 1, H, W]);
  expect(onnx.refDims).toEqual(onnx.dims);
  expect(onnx.maxAbs).toBeLessThanOrEqual(ONNX_TOLERANCE);
  expect(onnx.textFraction).toBeGreaterThan(0.005); // the detector really found the rendered text
  expect(onnx.progress.at(-1)).toBe(6);

  // 2. 512x512 f32 matmul in 128-tiles over the contributors, against a CPU reference.
  const matmul = await client.evaluate(async () => {
    const mesh = (window as unknown as { mesh: Awaited<ReturnType<typeof window.meshTest.sdk.connect>> }).mesh;
    const { randomFloats, matmulMaxRel } = window.meshTest;
    const n = 512;
    const a = randomFloats(n * n, 7);
    const b = randomFloats(n * n, 8);
    const job = mesh.client.runMatmul({ a, b, m: n, k: n, n, tile: 128, verifyFraction: 0.25 });
    const c = await job.result;
    const cost = await job.cost;
    const maxRel = matmulMaxRel(a, b, c, n, n, n);
    return { length: c.length, maxRel, cost, jobId: await job.jobId };
  });
  expect(matmul.length).toBe(512 * 512);
  expect(matmul.maxRel).toBeLessThan(1e-4);

  // 3. The books: contributors credited exactly what they earned, the client paid that plus fees,
  // no escrow left, and the sum of all balances equals what was minted.
  const audit = await ledger(client);
  const earned = await Promise.all(
    contributors.map((p) => p.evaluate(() => (window as unknown as { mesh: { contributor: { stats: { earned: number } } } }).mesh.contributor.stats.earned)),
  );
  const [c0, c1, c2] = await balances(client, contributorIds);
  expect([c0, c1, c2].map((b) => (b ?? 0) - STARTER)).toEqual(earned);
  expect(earned.every((e) => e > 0)).toBe(true);
  const totalEarned = earned.reduce((x, y) => x + y, 0);
  const costs = [onnx.cost, matmul.cost] as { spent: number; fees: number; refunded: number }[];
  const spent = costs.reduce((s, c) => s + c.spent, 0);
  const fees = costs.reduce((s, c) => s + c.fees, 0);
  expect(spent).toBe(totalEarned);
  expect(fees).toBeGreaterThan(0);
  expect(audit.accounts[`peer:${clientId}`]).toBe(STARTER - spent - fees);
  expect((audit.accounts['fees'] ?? 0) - feesBefore).toBe(fees); // other specs' jobs paid fees before this one
  for (const [account, balance] of Object.entries(audit.accounts)) {
    if (account.startsWith('escrow:')) expect(balance, account).toBe(0);
  }
  expect(Object.values(audit.accounts).reduce((x, y) => x + y, 0)).toBe(audit.minted);
  expect(audit.total).toBe(audit.minted);
  expect(audit.minted - mintedBefore).toBe(4 * STARTER); // one starter grant per new identity, nothing else
});

test('a contributor closed mid-job: its shard is reassigned, the job completes correctly, it is not paid for it', async ({ browser }) => {
  const contributors = await Promise.all([0, 1, 2].map(() => openPeer(browser)));
  const ids: string[] = [];
  for (const page of contributors) ids.push(await startContributor(page));
  const client = await openPeer(browser);
  await connectClient(client);
  const victim = contributors[2]!;
  const before = await balances(client, ids);

  // Close the victim's page as soon as it starts its first shard.
  const closed = victim
    .waitForFunction(() => (window as unknown as { shardEvents: { phase: string }[] }).shardEvents.some((e) => e.phase === 'start'), null, { polling: 10, timeout: 120_000 })
    .then(() => victim.context().close());

  const result = client.evaluate(async () => {
    const mesh = (window as unknown as { mesh: Awaited<ReturnType<typeof window.meshTest.sdk.connect>> }).mesh;
    const { randomFloats, matmulMaxRel } = window.meshTest;
    const n = 384;
    const a = randomFloats(n * n, 11);
    const b = randomFloats(n * n, 12);
    const job = mesh.client.runMatmul({ a, b, m: n, k: n, n, tile: 64, verifyFraction: 0 });
    const c = await job.result;
    await job.cost;
    const maxRel = matmulMaxRel(a, b, c, n, n, n);
    const jobId = await job.jobId;
    const detail = await mesh.client.jobDetail(jobId);
    return { maxRel, jobId, states: detail.shards.map((s) => s.state), detail };
  });
  await closed;
  const outcome = await result;
  expect(outcome.maxRel).toBeLessThan(1e-4);
  expect(outcome.states.every((s) => s === 'done')).toBe(true);

  // The victim was paid only for shards it delivered before closing: its balance moved exactly by what
  // receipts credited it, and the others absorbed its unfinished work.
  const after = await balances(client, ids);
  const audit = await ledger(client);
  const survivorsEarned = await Promise.all(
    contributors.slice(0, 2).map((p) => p.evaluate(() => (window as unknown as { mesh: { contributor: { stats: { earned: number } } } }).mesh.contributor.stats.earned)),
  );
  expect(after[0]! - before[0]!).toBe(survivorsEarned[0]);
  expect(after[1]! - before[1]!).toBe(survivorsEarned[1]);
  const paidRuns = outcome.detail.shards.flatMap((s) => s.runs.filter((r) => r.state === 'paid').map((r) => ({ contributor: r.contributor, amount: r.amount ?? 0 })));
  const victimPaid = paidRuns.filter((r) => r.contributor === ids[2]).reduce((s, r) => s + r.amount, 0);
  expect(after[2]! - before[2]!).toBe(victimPaid);
  // Every shard was paid once (no replicas in this job), except one the victim claimed before it closed and never
  // delivered: the client's complaint about it went to arbitration, whose run agreed, so that claim and the arbiter
  // are both paid (a complaint never cuts pay by itself); the victim's unfinished shard went elsewhere.
  for (const s of outcome.detail.shards) {
    const paid = s.runs.filter((r) => r.state === 'paid');
    if (paid.length === 1) continue;
    expect(paid.map((r) => r.role).sort(), `shard ${s.index}`).toEqual(['arbiter', 'primary']);
    expect(paid.find((r) => r.role === 'primary')!.contributor, `shard ${s.index}`).toBe(ids[2]);
  }
  expect(paidRuns.filter((r) => r.contributor !== ids[2]).length).toBeGreaterThan(0);
  expect(Object.values(audit.accounts).reduce((x, y) => x + y, 0)).toBe(audit.minted);
});
