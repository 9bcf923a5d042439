// The row kernels as a kernel kind, end to end: a real coordinator, contributor browsers running the kernels on
// their own WebGPU adapters (SwiftShader here) in real workers, and a client calling `client.runRows` for every op.
// Every shard runs on two contributors (verifyFraction 1) and is compared; the result must match the f64 CPU
// reference, every run be paid, and the books balance. A contributor that perturbs its row-kernel outputs
// (e2e/pages/liar.html) is outvoted and never paid.
import { expect, test, type Page } from '@playwright/test';
import { closeLeftoverPeers, connectPeer, ledger, meshStats, openPeer, type PeerWindow } from './fixtures.ts';

const MICRO = 1_000_000;
const STARTER = 1000 * MICRO;
/** f32 kernels against f64, relative to each element's rounding scale (see rowsMaxRel): ~1e-7 measured, a real fault is far above. */
const TOLERANCE = 1e-5;

type Op = 'sum' | 'max' | 'softmax' | 'layernorm' | 'add' | 'mul' | 'relu' | 'affine';

/** Runs `op` over a seeded [rows, cols] from the client page; returns the error against f64 and what the job did. */
function runRows(client: Page, op: Op, rows: number, cols: number, rowsPerShard: number, seed: number) {
  return client.evaluate(async ({ op, rows, cols, rowsPerShard, seed }) => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    const { randomFloats, rowsMaxRel } = window.meshTest;
    const x = randomFloats(rows * cols, seed);
    const b = randomFloats(rows * cols, seed + 1);
    const gamma = randomFloats(cols, seed + 2);
    const beta = randomFloats(cols, seed + 3);
    // Shards this small are 1 work unit each (a unit is an MFLOP, as for matmul): the escrow floor needs more than the default bid.
    const common = { x, rows, cols, rowsPerShard, verifyFraction: 1, bid: 5 };
    const job = op === 'add' || op === 'mul'
      ? mesh.client.runRows({ ...common, op, b })
      : op === 'layernorm'
      ? mesh.client.runRows({ ...common, op, gamma, beta, eps: 1e-5 })
      : op === 'affine'
      ? mesh.client.runRows({ ...common, op, alpha: -1.5, beta: 0.25 })
      : mesh.client.runRows({ ...common, op });
    const y = await job.result;
    const cost = await job.cost;
    const jobId = await job.jobId;
    const maxRel = rowsMaxRel(op, rows, cols, { x, b, gamma, beta, eps: 1e-5, alpha: -1.5, shift: 0.25 }, y);
    return { op, rows, cols, length: y.length, maxRel, cost, jobId, detail: await mesh.client.jobDetail(jobId) };
  }, { op, rows, cols, rowsPerShard, seed });
}

test.describe.configure({ mode: 'serial' });
test.beforeEach(async ({ browser, request }) => closeLeftoverPeers(browser, request));
test.afterAll(async ({ browser, request }) => closeLeftoverPeers(browser, request));

test('every row-kernel op runs through the mesh on contributor GPUs, matches f64, is verified on two peers and paid', async ({ browser, request }) => {
  const contributors = await Promise.all([0, 1].map(() => openPeer(browser)));
  const ids: string[] = [];
  for (const page of contributors) ids.push(await connectPeer(page, { contribute: true }));
  const client = await openPeer(browser);
  const clientId = await connectPeer(client);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(2);
  const before = await ledger(client);

  // [300, 68] takes the vec4 variants, [77, 45] the scalar ones; 3 and 2 shards of whole rows.
  const runs = [];
  for (const [i, op] of (['sum', 'max', 'softmax', 'layernorm', 'add', 'mul', 'relu', 'affine'] as const).entries()) {
    runs.push(await runRows(client, op, 300, 68, 100, 11 + i));
  }
  for (const op of ['softmax', 'layernorm', 'sum'] as const) runs.push(await runRows(client, op, 77, 45, 40, 97));

  console.log(`rows through the mesh, max error vs f64 (relative to rounding scale): ${runs.map((r) => `${r.op}[${r.rows}x${r.cols}] ${r.maxRel.toExponential(2)}`).join(', ')}`);
  for (const r of runs) {
    expect(r.length, r.op).toBe(r.op === 'sum' || r.op === 'max' ? r.rows : r.rows * r.cols);
    expect(r.maxRel, r.op).toBeLessThan(TOLERANCE);
    expect(r.detail.state, r.op).toBe('done');
    for (const s of r.detail.shards) {
      // Both contributors ran it, their outputs agreed, and both were paid.
      expect(s.runs.filter((run) => run.state === 'paid').map((run) => run.contributor).sort(), `${r.op} shard ${s.index}`).toEqual([...ids].sort());
    }
  }

  // The books: each contributor credited exactly what it earned, the client paid that plus fees, no escrow left.
  const after = await ledger(client);
  const earned = await Promise.all(contributors.map((p) => p.evaluate(() => (window as unknown as PeerWindow).peer.mesh.contributor.stats.earned)));
  expect(earned.every((e) => e > 0)).toBe(true);
  ids.forEach((id, i) => expect(after.accounts[`peer:${id}`]! - (before.accounts[`peer:${id}`] ?? 0)).toBe(earned[i]));
  const spent = runs.reduce((sum, r) => sum + r.cost.spent, 0);
  const fees = runs.reduce((sum, r) => sum + r.cost.fees, 0);
  expect(spent).toBe(earned[0]! + earned[1]!);
  expect(after.accounts[`peer:${clientId}`]).toBe(STARTER - spent - fees);
  for (const r of runs) expect(after.accounts[`escrow:${r.jobId}`] ?? 0).toBe(0);
  expect(Object.values(after.accounts).reduce((x, y) => x + y, 0)).toBe(after.minted);
  expect(after.total).toBe(after.minted);
});

test('a contributor that perturbs its row-kernel outputs is outvoted and never paid', async ({ browser, request }) => {
  const honest = await Promise.all([0, 1].map(() => openPeer(browser)));
  const liar = await openPeer(browser, '/e2e/pages/liar.html');
  await liar.waitForFunction(() => 'meshLiar' in window);
  const honestIds: string[] = [];
  for (const page of honest) honestIds.push(await connectPeer(page, { contribute: true }));
  const liarId = await connectPeer(liar, { contribute: true });
  const client = await openPeer(browser);
  await connectPeer(client);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(3);

  const run = await runRows(client, 'softmax', 240, 64, 40, 5);
  expect(run.maxRel).toBeLessThan(TOLERANCE);
  const lies = await liar.evaluate(() => ({
    perturbed: window.meshLiar.perturbed,
    earned: (window as unknown as PeerWindow).peer.mesh.contributor.stats.earned,
  }));
  const liarRuns = run.detail.shards.flatMap((s) => s.runs.filter((r) => r.contributor === liarId));
  expect(liarRuns.length).toBeGreaterThan(0);
  expect(lies.perturbed).toBeGreaterThan(0);
  expect(liarRuns.every((r) => r.state === 'rejected')).toBe(true);
  expect(lies.earned).toBe(0);
  for (const s of run.detail.shards) {
    expect(s.runs.filter((r) => r.state === 'paid').every((r) => honestIds.includes(r.contributor)), `shard ${s.index}`).toBe(true);
  }
  expect((await ledger(client)).accounts[`peer:${liarId}`]).toBe(STARTER);
});
