// Three coordinator instances on one PostgreSQL store and one NATS bus. Three contributor browsers, each on
// its own instance, and a client on another run the PP-OCR detector and a matmul: results equal local runs,
// the shared ledger is exact. Then the instance holding the client is killed (SIGKILL) mid-job: the client's
// SDK fails over to another instance from its `coordinators` list, the job moves with it and finishes there,
// no shard is lost and nothing is paid twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { startNats, startPostgres, type Server } from './cluster-servers.ts';
import { connectPeer, type CoordinatorProcess, freePort, ledger, meshStats, openPeer, type PeerWindow, spawnCoordinator } from './fixtures.ts';

const MICRO = 1_000_000;
const STARTER = 1000 * MICRO;
const IMAGES = 12;
const H = 96;
const W = 160;

test.describe.configure({ mode: 'serial' });

let pg: Server | undefined;
let nats: Server | undefined;
const nodes: CoordinatorProcess[] = [];
const dirs: string[] = [];

test.beforeAll(async () => {
  pg = await startPostgres();
  nats = await startNats();
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), `meshwork-cluster-${i}-`));
    dirs.push(dir);
    nodes.push(await spawnCoordinator(await freePort(), dir, ['--store', pg.url, '--bus', nats.url, '--instance-id', `c${i}`, '--trust-newcomers', 'on']));
  }
});

test.afterAll(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
  for (const n of nodes) await n.stop();
  await nats?.stop();
  await pg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The instances' URLs starting at `first`: a peer's failover list. */
function listFrom(first: number): string[] {
  return [0, 1, 2].map((i) => nodes[(first + i) % 3]!.url);
}

async function contributorsOn(browser: Parameters<typeof openPeer>[0]): Promise<{ pages: Page[]; ids: string[] }> {
  const pages = await Promise.all([0, 1, 2].map(() => openPeer(browser)));
  const ids: string[] = [];
  for (const [i, page] of pages.entries()) ids.push(await connectPeer(page, { coordinators: listFrom(i), contribute: true }));
  // Every instance sees all three contributors (its own and the others').
  for (const n of nodes) await expect.poll(async () => (await meshStats(pages[0]!.request, n.url)).contributors, { timeout: 30_000 }).toBe(3);
  return { pages, ids };
}

test('contributors on three instances run PP-OCR and a matmul for a client on another: results equal local, ledger exact', async ({ browser }) => {
  const { pages: contributors, ids } = await contributorsOn(browser);
  const client = await openPeer(browser);
  const clientId = await connectPeer(client, { coordinators: listFrom(1) });
  const before = await ledger(client, nodes[0]!.url);

  const onnx = await client.evaluate(async ({ n, h, w }) => {
    const { ort, renderTextImages } = window.meshTest;
    const { mesh } = (window as unknown as PeerWindow).peer;
    const models = (await (await fetch('/models/index.json')).json()) as { id: string; url: string; outputs: string[] }[];
    const model = models.find((m) => m.id === 'ppocr-det-v4')!;
    const x = renderTextImages(n, h, w);
    const job = mesh.client.runOnnx({
      model: { url: model.url, name: model.id },
      inputs: { x: { dtype: 'float32', dims: [n, 3, h, w], data: x } },
      outputs: model.outputs,
      itemsPerShard: 2,
      verifyFraction: 0.34,
      tolerance: { abs: 1e-4, rel: 1e-3 },
    });
    const result = await job.result;
    const cost = await job.cost;
    const got = result[model.outputs[0]!]!.data as Float32Array;
    const session = await ort.InferenceSession.create(model.url, { executionProviders: ['wasm'] });
    const ref = (await session.run({ x: new ort.Tensor('float32', x, [n, 3, h, w]) }))[model.outputs[0]!]!.data as Float32Array;
    let maxAbs = 0;
    for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ref[i]! - got[i]!));
    return { maxAbs, length: got.length, refLength: ref.length, cost };
  }, { n: IMAGES, h: H, w: W });
  expect(onnx.length).toBe(onnx.refLength);
  expect(onnx.maxAbs).toBeLessThanOrEqual(1e-3);

  const matmul = await client.evaluate(async () => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    const { randomFloats, matmulMaxRel } = window.meshTest;
    const n = 256;
    const a = randomFloats(n * n, 7);
    const b = randomFloats(n * n, 8);
    const job = mesh.client.runMatmul({ a, b, m: n, k: n, n, tile: 64, verifyFraction: 0.25 });
    const c = await job.result;
    return { maxRel: matmulMaxRel(a, b, c, n, n, n), cost: await job.cost };
  });
  expect(matmul.maxRel).toBeLessThan(1e-4);

  // One ledger for the whole cluster, read through any instance: contributors earned what the client spent.
  const after = await ledger(client, nodes[2]!.url);
  const spent = onnx.cost.spent + matmul.cost.spent;
  const fees = onnx.cost.fees + matmul.cost.fees;
  const earned = ids.map((id) => (after.accounts[`peer:${id}`] ?? 0) - STARTER);
  expect(earned.reduce((x, y) => x + y, 0)).toBe(spent);
  expect(earned.filter((e) => e > 0).length).toBeGreaterThanOrEqual(2); // work really spread over instances
  expect(after.accounts[`peer:${clientId}`]).toBe(STARTER - spent - fees);
  for (const [account, balance] of Object.entries(after.accounts)) if (account.startsWith('escrow:')) expect(balance, account).toBe(0);
  expect(after.total).toBe(after.minted);
  expect(after.minted - before.minted).toBe(0);
  await Promise.all([client, ...contributors].map((p) => p.context().close()));
});

test('kill -9 of the instance holding the client mid-job: the job finishes through another instance, no shard lost, nothing paid twice', async ({ browser }) => {
  const { pages: contributors, ids } = await contributorsOn(browser);
  const client = await openPeer(browser);
  // The client starts on c1, then c2, c0.
  const clientId = await connectPeer(client, { coordinators: listFrom(1) });
  const before = await ledger(client, nodes[0]!.url);
  const m = 256, k = 64, n = 256, tile = 16; // 16-row tiles: 16 shards, long enough to kill mid-job
  await client.evaluate(({ m, k, n, tile }) => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 5) % 7) - 3);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) - 3);
    const job = mesh.client.runMatmul({ a, b, m, k, n, tile, verifyFraction: 0 });
    const w = window as unknown as { killRun: unknown; killSettled: number; moves: string[] };
    w.killSettled = 0;
    w.moves = [];
    mesh.addEventListener('moved', (e) => w.moves.push((e as CustomEvent<{ to: string }>).detail.to));
    job.addEventListener('progress', (e) => (w.killSettled = (e as CustomEvent<{ done: number }>).detail.done));
    w.killRun = Promise.all([job.result, job.cost, job.jobId]).then(([c, cost, jobId]) => ({
      mismatches: window.meshTest.matmulMismatches(a, b, c, m, k, n), cost, jobId,
    }));
  }, { m, k, n, tile });
  await expect.poll(() => client.evaluate(() => (window as unknown as { killSettled: number }).killSettled), { timeout: 60_000 }).toBeGreaterThan(2);
  const settledAtKill = await client.evaluate(() => (window as unknown as { killSettled: number }).killSettled);
  await nodes[1]!.kill();

  const run = await client.evaluate(() => (window as unknown as { killRun: Promise<{ mismatches: number; cost: { spent: number; fees: number; refunded: number; escrow: number }; jobId: string }> }).killRun);
  expect(run.mismatches).toBe(0);
  expect(settledAtKill).toBeLessThan(m / tile); // it really was mid-job
  const moves = await client.evaluate(() => (window as unknown as { moves: string[] }).moves);
  expect(moves.length).toBeGreaterThan(0);
  const detail = await client.evaluate((id) => (window as unknown as PeerWindow).peer.mesh.client.jobDetail(id), run.jobId);
  expect(detail.state).toBe('done');
  expect(detail.shards.every((s) => s.runs.filter((r) => r.state === 'paid').length === 1)).toBe(true);
  const after = await ledger(client, nodes[0]!.url);
  const earned = ids.reduce((s, id) => s + (after.accounts[`peer:${id}`] ?? 0) - (before.accounts[`peer:${id}`] ?? STARTER), 0);
  expect(earned).toBe(run.cost.spent);
  expect(after.accounts[`peer:${clientId}`]).toBe(STARTER - run.cost.spent - run.cost.fees);
  expect(run.cost.spent + run.cost.fees + run.cost.refunded).toBe(run.cost.escrow);
  expect(after.total).toBe(after.minted);
  expect(after.minted).toBe(before.minted);
  await Promise.all([client, ...contributors].map((p) => p.context().close()));
});
