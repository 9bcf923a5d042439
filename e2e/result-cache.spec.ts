// The exact-match result cache in real Chromium against the real coordinator: the contributor's IndexedDB result
// store (bounds, least-recently-used eviction, hash checks, corrupt records), and a job run twice, the second time
// answered from the contributors' stored outputs without running a kernel, identical and at the cache rate; a
// store damaged on disk is never served: its holders decline and the shards are computed again.
import { expect, type Page, test } from '@playwright/test';
import { closeLeftoverPeers, connectPeer, ledger, meshStats, openPeer, type PeerWindow } from './fixtures.ts';

const RESULTS_PAGE = '/e2e/pages/results.html';
const M = 256;
const K = 128;
const N = 256;
const TILE = 128;
const SHARDS = (M / TILE) * (N / TILE);

async function openResultsPeer(browser: Parameters<typeof openPeer>[0]): Promise<Page> {
  const page = await openPeer(browser, RESULTS_PAGE);
  await page.waitForFunction(() => 'meshResults' in window);
  return page;
}

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
});

test('the result store checks hashes, keeps its bounds by evicting the least recently used, and deletes corrupt records', async ({ browser }) => {
  const page = await openResultsPeer(browser);
  const r = await page.evaluate(async () => {
    const { ResultStore, MeshError, sha256Hex, corruptAll } = window.meshResults;
    const output = async (seed: number) => {
      const bytes = Float32Array.from({ length: 16 }, (_, i) => i * seed).buffer; // 64 bytes
      return { bytes, hash: await sha256Hex(bytes), specs: [{ name: 'y', dtype: 'float32' as const, dims: [4, 4] }] };
    };
    const evicted: string[] = [];
    const store = new ResultStore({ maxBytes: 150, maxEntries: 10, onEvict: (h) => evicted.push(...h) });
    await store.clear();
    evicted.length = 0;
    const [a, b, c, d] = [await output(1), await output(2), await output(3), await output(4)];
    let mismatch = 'accepted';
    try {
      await store.put('ka', b.hash, a.bytes, a.specs);
    } catch (err) {
      mismatch = err instanceof MeshError ? err.code : String(err);
    }
    let layout = 'accepted';
    try {
      await store.put('ka', a.hash, a.bytes, [{ name: 'y', dtype: 'float32', dims: [4, 5] }]);
    } catch (err) {
      layout = (err as Error).name;
    }
    await store.put('ka', a.hash, a.bytes, a.specs);
    await store.put('kb', b.hash, b.bytes, b.specs);
    const readA = await store.get('ka'); // a is now more recently used than b
    await store.put('kc', c.hash, c.bytes, c.specs); // 192 bytes > 150: the least recently used (b) goes
    const afterBytes = { a: await store.has('ka'), b: await store.has('kb'), c: await store.has('kc'), evicted: [...evicted] };
    const tooBig = await new ResultStore({ maxBytes: 32 }).put('kd', d.hash, d.bytes, d.specs);
    const counted = new ResultStore({ maxBytes: 1 << 20, maxEntries: 1, onEvict: (h) => evicted.push(...h) });
    await counted.put('kd', d.hash, d.bytes, d.specs); // one entry at most: a and c go
    const afterCount = { usage: await store.usage(), d: await store.has('kd'), evicted: [...evicted] };
    const corrupted = await corruptAll();
    const corrupt = await store.get('kd');
    const afterCorrupt = { corrupt: corrupt === undefined, has: await store.has('kd'), usage: await store.usage(), corruptEvicted: store.corruptEvicted, evicted: [...evicted] };
    let range = '';
    try {
      new ResultStore({ maxBytes: 1024 * 1024 * 1024 });
    } catch (err) {
      range = (err as Error).name;
    }
    return {
      hashes: { a: a.hash, b: b.hash, c: c.hash, d: d.hash },
      mismatch,
      layout,
      readA: readA && { hash: readA.outputHash, same: new Uint8Array(readA.bytes).every((x, i) => x === new Uint8Array(a.bytes)[i]), outputs: readA.outputs },
      afterBytes,
      tooBig,
      afterCount,
      corrupted,
      afterCorrupt,
      range,
    };
  });
  expect(r.mismatch).toBe('hash-mismatch');
  expect(r.layout).toBe('RangeError');
  expect(r.readA).toEqual({ hash: r.hashes.a, same: true, outputs: [{ name: 'y', dtype: 'float32', dims: [4, 4] }] });
  expect(r.afterBytes).toEqual({ a: true, b: false, c: true, evicted: [r.hashes.b] });
  expect(r.tooBig).toBe(false);
  expect(r.afterCount.usage).toEqual({ entries: 1, bytes: 64 });
  expect(r.afterCount.d).toBe(true);
  expect([...r.afterCount.evicted].sort()).toEqual([r.hashes.a, r.hashes.b, r.hashes.c].sort());
  expect(r.corrupted).toBe(1);
  expect(r.afterCorrupt.corrupt).toBe(true);
  expect(r.afterCorrupt.has).toBe(false);
  expect(r.afterCorrupt.usage).toEqual({ entries: 0, bytes: 0 });
  expect(r.afterCorrupt.corruptEvicted).toBe(1);
  expect(r.afterCorrupt.evicted.at(-1)).toBe(r.hashes.d);
  expect(r.range).toBe('RangeError');
});

test('a repeated job is answered from the contributors\' stored outputs without running a kernel, identical, at the cache rate', async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
  const contributors = await Promise.all([0, 1].map(() => openResultsPeer(browser)));
  for (const page of contributors) await connectPeer(page, { contribute: true });
  for (const page of contributors) await page.evaluate(() => new window.meshResults.ResultStore().clear());
  const client = await openPeer(browser);
  const clientId = await connectPeer(client);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(2);

  const runJob = (verifyFraction: number) =>
    client.evaluate(async ({ m, k, n, tile, verifyFraction }) => {
      const { mesh } = (window as unknown as PeerWindow).peer;
      // Integer inputs: every honest run is exact, so the two contributors' outputs hash alike.
      const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 5) - 2);
      const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 5) - 2);
      const job = mesh.client.runMatmul({ a, b, m, k, n, tile, verifyFraction });
      const c = await job.result;
      const cost = await job.cost;
      const jobId = await job.jobId;
      return { c: Array.from(c), mismatches: window.meshTest.matmulMismatches(a, b, c, m, k, n), cost, detail: await mesh.client.jobDetail(jobId) };
    }, { m: M, k: K, n: N, tile: TILE, verifyFraction });
  const counts = () =>
    Promise.all(contributors.map((p) => p.evaluate(async () => ({
      kernelRuns: window.meshResults.kernelRuns,
      cacheServed: (window as unknown as PeerWindow).peer.mesh.contributor.stats.cacheServed,
      stored: (await new window.meshResults.ResultStore().usage()).entries,
    }))));

  // First run: every shard computed twice (verifyFraction 1), the runs agree, both contributors are paid and
  // keep the verified outputs.
  const first = await runJob(1);
  expect(first.mismatches).toBe(0);
  expect(first.detail.shards.every((s) => s.verified && s.runs.filter((r) => r.state === 'paid').length === 2)).toBe(true);
  // Content-addressed: shards whose outputs are equal share one stored output (named by both their keys).
  const outputs = new Set(first.detail.shards.map((s) => s.outputHash)).size;
  await expect.poll(async () => (await counts()).map((c) => c.stored)).toEqual([outputs, outputs]);
  const before = await counts();
  expect(before.every((c) => c.kernelRuns > 0 && c.cacheServed === 0)).toBe(true);

  // Second run of the same job: no kernel runs anywhere, every shard answered from a store, the same bytes.
  const second = await runJob(0);
  const after = await counts();
  expect(after.map((c) => c.kernelRuns)).toEqual(before.map((c) => c.kernelRuns));
  expect(after.reduce((n, c) => n + c.cacheServed, 0)).toBe(SHARDS);
  expect(second.c).toEqual(first.c);
  expect(second.mismatches).toBe(0);
  // At the cache rate: each shard's one run paid a tenth (rounded up) of what computing it paid.
  let cacheRate = 0;
  for (const s of second.detail.shards) {
    const paid = s.runs.filter((r) => r.state === 'paid');
    const full = first.detail.shards[s.index]!.runs.find((r) => r.state === 'paid')!.amount!;
    expect(paid.map((r) => r.amount), `shard ${s.index}`).toEqual([Math.ceil(full / 10)]);
    cacheRate += Math.ceil(full / 10);
    expect(s.outputHash).toBe(first.detail.shards[s.index]!.outputHash);
  }
  expect(second.cost.spent).toBe(cacheRate);
  const books = await ledger(client);
  expect(books.total).toBe(books.minted);
  expect(books.accounts[`peer:${clientId}`]).toBeGreaterThan(0);

  // The stores are damaged on disk: nothing damaged is served. The holders decline, are forgotten, and the
  // shards are computed again, with the same result.
  expect(await Promise.all(contributors.map((p) => p.evaluate(() => window.meshResults.corruptAll())))).toEqual([outputs, outputs]);
  const third = await runJob(0);
  const last = await counts();
  expect(third.c).toEqual(first.c);
  expect(last.map((c) => c.cacheServed)).toEqual(after.map((c) => c.cacheServed));
  expect(last.reduce((n, c) => n + c.kernelRuns, 0)).toBeGreaterThan(after.reduce((n, c) => n + c.kernelRuns, 0));
  const declined = await Promise.all(contributors.map((p) => p.evaluate(() =>
    (window as unknown as PeerWindow).peer.shards.filter((e) => e.phase === 'failed').map((e) => (e as { failure?: string }).failure))));
  expect(declined.flat().length).toBeGreaterThanOrEqual(SHARDS);
  expect(new Set(declined.flat())).toEqual(new Set(['not-cached']));
  // Computed again at the full price: no paid run of the third job is at the cache rate.
  for (const s of third.detail.shards) {
    const full = first.detail.shards[s.index]!.runs.find((r) => r.state === 'paid')!.amount!;
    expect(s.runs.filter((r) => r.state === 'paid').map((r) => r.amount), `shard ${s.index}`).toEqual([full]);
  }
});
