// Verification against a dishonest contributor, end to end: two honest contributor browsers and one whose
// harness page (e2e/pages/liar.html) perturbs every WGSL output it computes, with the real SDK, transfer and
// claims. With verifyFraction 1 every shard runs on two peers; whenever the liar is one of them the client
// sees a mismatch, asks for a tie-breaker, keeps the majority and rejects the liar's run unpaid.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { closeLeftoverPeers, type CoordinatorProcess, connectPeer, freePort, ledger, meshStats, openPeer, type PeerWindow, spawnCoordinator } from './fixtures.ts';

const MICRO = 1_000_000;
const STARTER = 1000 * MICRO;
const M = 256;
const K = 128;
const N = 256;
const TILE = 128;
const SHARDS = (M / TILE) * (N / TILE);


test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
});

test('with every shard replicated, a contributor that perturbs its outputs is outvoted and never paid', async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
  const honest = await Promise.all([0, 1].map(() => openPeer(browser)));
  const liar = await openPeer(browser, '/e2e/pages/liar.html');
  await liar.waitForFunction(() => 'meshLiar' in window);
  const honestIds: string[] = [];
  for (const page of honest) honestIds.push(await connectPeer(page, { contribute: true }));
  const liarId = await connectPeer(liar, { contribute: true });
  const client = await openPeer(browser);
  const clientId = await connectPeer(client);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(3);
  const before = await ledger(client);
  expect(before.accounts[`peer:${liarId}`]).toBe(STARTER);

  const run = await client.evaluate(async ({ m, k, n, tile }) => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    // Integer inputs in [-2, 2]: every product and partial sum is exact in f32, so an honest result equals
    // the CPU reference bit for bit, whatever order the GPU sums in.
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 5) - 2);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 5) - 2);
    const job = mesh.client.runMatmul({ a, b, m, k, n, tile, verifyFraction: 1 });
    const events: { state: string; shard?: number; contributor?: string }[] = [];
    job.addEventListener('progress', (e) => events.push((e as CustomEvent<{ state: string; shard?: number; contributor?: string }>).detail));
    const c = await job.result;
    const cost = await job.cost;
    const mismatches = window.meshTest.matmulMismatches(a, b, c, m, k, n);
    const jobId = await job.jobId;
    return {
      jobId,
      detail: await mesh.client.jobDetail(jobId),
      length: c.length,
      mismatches,
      cost,
      disputed: [...new Set(events.filter((e) => e.state === 'disputed').map((e) => e.shard))],
      assignedTo: events.filter((e) => e.state === 'assigned').map((e) => e.contributor),
    };
  }, { m: M, k: K, n: N, tile: TILE });

  // The result is the honest one, exactly.
  expect(run.length).toBe(M * N);
  expect(run.mismatches).toBe(0);

  // The liar really took part and really lied, and each of its runs was caught by a dispute.
  const lies = await liar.evaluate(() => {
    const { peer } = window as unknown as PeerWindow;
    return {
      perturbed: window.meshLiar.perturbed,
      done: peer.shards.filter((s) => s.phase === 'done').length,
      earned: peer.mesh.contributor.stats.earned,
    };
  });
  expect(run.assignedTo).toContain(liarId);
  expect(lies.perturbed).toBeGreaterThan(0);
  // A matmul shard is one or more pool calls (row blocks computed as A arrives), each perturbed.
  expect(lies.done).toBeGreaterThan(0);
  expect(lies.perturbed).toBeGreaterThanOrEqual(lies.done);
  expect(run.disputed.length).toBe(lies.done);

  // Nobody paid the liar; each shard was paid to the two honest contributors, once each.
  expect(lies.earned).toBe(0);
  const detail = run.detail;
  expect(detail.state).toBe('done');
  expect(detail.shards).toHaveLength(SHARDS);
  for (const s of detail.shards) {
    expect(s.runs.filter((r) => r.state === 'paid').map((r) => r.contributor).sort(), `shard ${s.index}`).toEqual([...honestIds].sort());
    expect(s.runs.filter((r) => r.contributor === liarId).every((r) => r.state === 'rejected'), `shard ${s.index}`).toBe(true);
  }

  // The books: the liar's balance did not move, the honest ones were credited what they earned, the client
  // paid that plus fees, and the sum of all balances is what was minted.
  const after = await ledger(client);
  expect(after.accounts[`peer:${liarId}`]).toBe(STARTER);
  const earned = await Promise.all(honest.map((p) => p.evaluate(() => (window as unknown as PeerWindow).peer.mesh.contributor.stats.earned)));
  expect(earned.every((e) => e > 0)).toBe(true);
  honestIds.forEach((id, i) => expect(after.accounts[`peer:${id}`]! - (before.accounts[`peer:${id}`] ?? 0)).toBe(earned[i]));
  expect(run.cost.spent).toBe(earned[0]! + earned[1]!);
  // Fees: the fee rule (floor of 5% of each payment, src/core/cost.ts) over the runs paid; small payments carry none.
  const paid = detail.shards.flatMap((sh) => sh.runs.filter((r) => r.state === 'paid'));
  expect(run.cost.fees).toBe(paid.reduce((sum, r) => sum + Math.floor((r.amount ?? 0) * 0.05), 0));
  expect(after.accounts[`peer:${clientId}`]).toBe(STARTER - run.cost.spent - run.cost.fees);
  expect(after.accounts[`escrow:${run.jobId}`] ?? 0).toBe(0);
  expect(Object.values(after.accounts).reduce((x, y) => x + y, 0)).toBe(after.minted);
  expect(after.total).toBe(after.minted);
});

test('among strangers, with no sampling asked for, a contributor that perturbs its outputs earns nothing', async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
  // A coordinator with the public defaults: newcomers' results are replicated on other peers until they
  // earn credibility, whatever the client's verifyFraction.
  const dataDir = mkdtempSync(join(tmpdir(), 'meshwork-strangers-'));
  let own: CoordinatorProcess | undefined;
  try {
    own = await spawnCoordinator(await freePort(), dataDir);
    const base = own.url;
    const honest = await Promise.all([0, 1].map(() => openPeer(browser)));
    const liar = await openPeer(browser, '/e2e/pages/liar.html');
    await liar.waitForFunction(() => 'meshLiar' in window);
    for (const page of honest) await connectPeer(page, { coordinator: base, contribute: true });
    const liarId = await connectPeer(liar, { coordinator: base, contribute: true });
    const client = await openPeer(browser);
    await connectPeer(client, { coordinator: base });
    await expect.poll(async () => (await meshStats(request, base)).contributors).toBe(3);

    const run = await client.evaluate(async ({ m, k, n, tile }) => {
      const { mesh } = (window as unknown as PeerWindow).peer;
      const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 5) - 2);
      const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 5) - 2);
      const job = mesh.client.runMatmul({ a, b, m, k, n, tile, verifyFraction: 0 });
      const c = await job.result;
      await job.cost;
      const jobId = await job.jobId;
      return { mismatches: window.meshTest.matmulMismatches(a, b, c, m, k, n), detail: await mesh.client.jobDetail(jobId) };
    }, { m: M, k: K, n: N, tile: TILE });

    expect(run.mismatches).toBe(0);
    const liarRuns = run.detail.shards.flatMap((s) => s.runs.filter((r) => r.contributor === liarId));
    const perturbed = await liar.evaluate(() => window.meshLiar.perturbed);
    expect(perturbed).toBeGreaterThan(0);
    expect(liarRuns.length).toBeGreaterThan(0);
    // Every shard was verified although the client asked for none, and every run of the liar was rejected.
    expect(run.detail.shards.every((s) => s.verified)).toBe(true);
    expect(liarRuns.every((r) => r.state === 'rejected')).toBe(true);
    expect(await liar.evaluate(() => (window as unknown as PeerWindow).peer.mesh.contributor.stats.earned)).toBe(0);
    const books = await ledger(client, base);
    expect(books.accounts[`peer:${liarId}`]).toBe(STARTER);
    expect(books.total).toBe(books.minted);
  } finally {
    await Promise.all(browser.contexts().map((c) => c.close()));
    await own?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
