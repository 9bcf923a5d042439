// The mesh under less usual conditions: one page that is both client and contributor (its shards travel
// over the in-memory loopback link), and a coordinator that dies and comes back on the same port and ledger
// while pages stay open: they reconnect on their own (mesh socket and signalling), the contributor registers
// again, balances survive in the ledger file and a new job runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import {
  closeLeftoverPeers,
  connectPeer,
  type CoordinatorProcess,
  freePort,
  ledger,
  type LedgerAudit,
  meshStats,
  openPeer,
  type PeerWindow,
  runExactMatmul,
  spawnCoordinator,
} from './fixtures.ts';

const MICRO = 1_000_000;
const STARTER = 1000 * MICRO;

test.describe.configure({ mode: 'serial' });

/** The coordinator the restart test starts itself, so afterAll can stop it whatever happened. */
let own: CoordinatorProcess | undefined;
let dataDir: string | undefined;

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
});

test.afterAll(async () => {
  await own?.stop();
  own = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function sum(audit: LedgerAudit): number {
  return Object.values(audit.accounts).reduce((x, y) => x + y, 0);
}

test('one page as both client and contributor runs its own job over the loopback link and pays itself', async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
  const page = await openPeer(browser);
  const id = await connectPeer(page, { contribute: true });
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(1);
  const run = await runExactMatmul(page, 96, 64, 80, 32); // 3 x 3 tiles (the last ones partial)
  expect(run.length).toBe(96 * 80);
  expect(run.mismatches).toBe(0);
  const mine = await page.evaluate(() => {
    const { peer } = window as unknown as PeerWindow;
    return { stats: { ...peer.mesh.contributor.stats }, done: peer.shards.filter((s) => s.phase === 'done').map((s) => s.jobId) };
  });
  expect(mine.done).toEqual(Array(9).fill(run.jobId));
  expect(mine.stats.shardsRun).toBe(9);
  expect(mine.stats.shardsFailed).toBe(0);
  expect(mine.stats.earned).toBe(run.cost.spent);
  expect(run.cost.spent).toBeGreaterThan(0);
  // It paid itself: the only net cost is the fee.
  const audit = await ledger(page);
  expect(audit.accounts[`peer:${id}`]).toBe(STARTER - run.cost.fees);
  expect(sum(audit)).toBe(audit.minted);
});

test('after a coordinator restart on the same port and ledger, pages reconnect, balances survive and a new job runs', async ({ browser }) => {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'meshwork-restart-'));
  own = await spawnCoordinator(port, dataDir, ['--trust-newcomers', 'on']);
  const base = own.url;
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`);
    expect(res.ok, path).toBe(true);
    return (await res.json()) as T;
  };
  // Pages come from the suite's coordinator and talk to this one cross-origin (it sends CORS headers).
  const contributor = await openPeer(browser);
  const contributorId = await connectPeer(contributor, { coordinator: base, contribute: true });
  const client = await openPeer(browser);
  const clientId = await connectPeer(client, { coordinator: base });
  await expect.poll(async () => (await api<{ contributors: number; peers: number }>('/api/stats')).contributors).toBe(1);

  const before = await runExactMatmul(client, 64, 64, 64, 32);
  expect(before.mismatches).toBe(0);
  const booksBefore = await ledger(client, base);
  expect(booksBefore.minted).toBe(2 * STARTER);
  expect(booksBefore.accounts[`peer:${contributorId}`]).toBeGreaterThan(STARTER);
  expect(booksBefore.accounts[`peer:${clientId}`]).toBeLessThan(STARTER);
  const authsBefore = await Promise.all([contributor, client].map((p) => p.evaluate(() => (window as unknown as PeerWindow).peer.balances.length)));

  // Kill it (SIGTERM: it closes sockets and the ledger), wait until the process is gone, start it again.
  await own.stop();
  await expect.poll(() => fetch(`${base}/healthz`).then(() => 'up', () => 'down')).toBe('down');
  own = await spawnCoordinator(port, dataDir, ['--trust-newcomers', 'on']);

  // Both pages authenticate again on their own (a 'balance' event follows every welcome) and never give up;
  // the contributor registers again and both are back on signalling.
  for (const [i, page] of [contributor, client].entries()) {
    await expect.poll(() => page.evaluate(() => (window as unknown as PeerWindow).peer.balances.length), { timeout: 30_000 }).toBeGreaterThan(authsBefore[i]!);
    expect(await page.evaluate(() => (window as unknown as PeerWindow).peer.closes)).toEqual([]);
  }
  await expect.poll(async () => await api<{ contributors: number; peers: number }>('/api/stats'), { timeout: 30_000 })
    .toMatchObject({ contributors: 1, peers: 2 });

  // The books came back from the ledger file unchanged: nothing minted again, nothing lost.
  const booksAfter = await ledger(client, base);
  expect(booksAfter).toEqual(booksBefore);
  expect(await client.evaluate(() => (window as unknown as PeerWindow).peer.mesh.balance())).toBe(booksBefore.accounts[`peer:${clientId}`]);

  // A new job runs over the restarted coordinator, and the books still balance.
  const after = await runExactMatmul(client, 64, 64, 64, 32);
  expect(after.mismatches).toBe(0);
  expect(after.jobId).not.toBe(before.jobId);
  // The contributor hears 'credited' on its own socket, which may land after the client's job ended.
  const earnedNow = () => contributor.evaluate(() => (window as unknown as PeerWindow).peer.mesh.contributor.stats.earned);
  await expect.poll(earnedNow).toBe(before.cost.spent + after.cost.spent);
  const earned = await earnedNow();
  const final = await ledger(client, base);
  expect(final.accounts[`peer:${contributorId}`]).toBe(STARTER + earned);
  expect(final.accounts[`peer:${clientId}`]).toBe(STARTER - before.cost.spent - before.cost.fees - after.cost.spent - after.cost.fees);
  expect(sum(final)).toBe(final.minted);
  expect(final.minted).toBe(2 * STARTER);
});

test('kill -9 of the coordinator mid-job, then a restart on the same data: the job completes, nothing refunded or paid twice', async ({ browser }) => {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'meshwork-kill-'));
  own = await spawnCoordinator(port, dataDir, ['--trust-newcomers', 'on']);
  const base = own.url;
  const contributors = await Promise.all([0, 1].map(() => openPeer(browser)));
  for (const page of contributors) await connectPeer(page, { coordinator: base, contribute: true });
  const client = await openPeer(browser);
  const clientId = await connectPeer(client, { coordinator: base });
  await expect.poll(async () => (await meshStats(client.request, base)).contributors).toBe(2);

  // A 256 x 64 x 256 exact matmul in 32-row tiles: 64 shards, long enough to kill the coordinator mid-job.
  const m = 256, k = 64, n = 256, tile = 32;
  await client.evaluate(({ m, k, n, tile }) => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 5) % 7) - 3);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) - 3);
    const job = mesh.client.runMatmul({ a, b, m, k, n, tile, verifyFraction: 0 });
    const w = window as unknown as { killRun: unknown; killSettled: number };
    w.killSettled = 0;
    job.addEventListener('progress', (e) => (w.killSettled = (e as CustomEvent<{ done: number }>).detail.done));
    w.killRun = Promise.all([job.result, job.cost, job.jobId]).then(([c, cost, jobId]) => ({
      mismatches: window.meshTest.matmulMismatches(a, b, c, m, k, n), cost, jobId,
    }));
  }, { m, k, n, tile });
  await expect.poll(() => client.evaluate(() => (window as unknown as { killSettled: number }).killSettled), { timeout: 60_000 }).toBeGreaterThan(3);
  const before = await ledger(client, base);
  await own.kill();
  own = await spawnCoordinator(port, dataDir, ['--trust-newcomers', 'on']);

  const run = await client.evaluate(() => (window as unknown as { killRun: Promise<{ mismatches: number; cost: { spent: number; fees: number; refunded: number; escrow: number }; jobId: string }> }).killRun);
  expect(run.mismatches).toBe(0);
  const detail = await client.evaluate((id) => (window as unknown as PeerWindow).peer.mesh.client.jobDetail(id), run.jobId);
  expect(detail.state).toBe('done');
  // Every shard was paid exactly once; the client paid exactly what contributors earned plus fees.
  expect(detail.shards.every((s) => s.runs.filter((r) => r.state === 'paid').length === 1)).toBe(true);
  const earned = await Promise.all(contributors.map((p) => p.evaluate(() => (window as unknown as PeerWindow).peer.mesh.contributor.stats.earned)));
  const after = await ledger(client, base);
  expect(after.total).toBe(after.minted);
  expect(after.minted).toBe(before.minted);
  expect(after.accounts[`peer:${clientId}`]).toBe(STARTER - run.cost.spent - run.cost.fees);
  expect(run.cost.spent + run.cost.fees + run.cost.refunded).toBe(run.cost.escrow);
  expect(earned.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(run.cost.spent);
});
