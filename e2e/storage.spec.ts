// src/storage in real Chromium (IndexedDB): the identity that names a peer survives reloads and is private
// to its browser profile; the content-addressed model cache checks hashes, evicts least-recently-used models
// and spares contributors a second model transfer. Drives e2e/pages/storage.html, which also logs the peer
// control frames its page sends (the SDK exposes no transfer counter).
import { expect, type Page, test } from '@playwright/test';
import { closeLeftoverPeers, connectPeer, ledger, meshStats, openPeer, type PeerWindow } from './fixtures.ts';

const STORAGE_PAGE = '/e2e/pages/storage.html';

async function openStoragePeer(browser: Parameters<typeof openPeer>[0]): Promise<Page> {
  const page = await openPeer(browser, STORAGE_PAGE);
  await page.waitForFunction(() => 'meshStorage' in window);
  return page;
}

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
});

test('an identity persists across reloads, names the mesh session, and differs between browser profiles', async ({ browser }) => {
  const a = await openStoragePeer(browser);
  const first = await a.evaluate(async () => {
    const { loadIdentity } = window.meshStorage;
    return { slot: (await loadIdentity()).peerId, other: (await loadIdentity('second')).peerId };
  });
  expect(first.slot).toMatch(/^mw[0-9a-f]{40}$/);
  expect(first.other).not.toBe(first.slot);
  const sessionId = await connectPeer(a);
  expect(sessionId).toBe(first.slot);
  const minted = (await ledger(a)).minted;

  await a.reload();
  await a.waitForFunction(() => 'meshStorage' in window);
  const reloaded = await a.evaluate(async () => (await window.meshStorage.loadIdentity()).peerId);
  expect(reloaded).toBe(first.slot);
  // The same account again: connecting after the reload mints no second set of starter credits.
  expect(await connectPeer(a)).toBe(first.slot);
  expect((await ledger(a)).minted).toBe(minted);

  const b = await openStoragePeer(browser);
  const other = await b.evaluate(async () => (await window.meshStorage.loadIdentity()).peerId);
  expect(other).toMatch(/^mw[0-9a-f]{40}$/);
  expect(other).not.toBe(first.slot);
});

test('the model cache refuses bytes that do not match their hash and evicts the least recently used beyond its budget', async ({ browser }) => {
  const page = await openStoragePeer(browser);
  const r = await page.evaluate(async () => {
    const { ModelCache, MeshError, sha256Hex } = window.meshStorage;
    const blob = async (n: number, seed: number) => {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * seed + 1) & 0xff).buffer;
      return { bytes, hash: await sha256Hex(bytes) };
    };
    const tick = () => new Promise((r) => setTimeout(r, 15)); // distinct last-use times (ms resolution)
    const cache = new ModelCache({ budget: 130 });
    const [a, b, c] = [await blob(60, 3), await blob(60, 5), await blob(60, 7)];
    let mismatch = 'accepted';
    try {
      await cache.put(b.hash, a.bytes, 'b');
    } catch (err) {
      mismatch = err instanceof MeshError ? err.code : String(err);
    }
    const afterMismatch = { has: await cache.has(b.hash), size: await cache.size() };
    await cache.put(a.hash, a.bytes, 'a');
    await tick();
    await cache.put(b.hash, b.bytes, 'b');
    await tick();
    const got = await cache.get(a.hash); // a is now more recently used than b
    await tick();
    await cache.put(c.hash, c.bytes, 'c'); // 180 bytes > 130: the least recently used (b) goes
    const kept = { a: await cache.has(a.hash), b: await cache.has(b.hash), c: await cache.has(c.hash), size: await cache.size() };
    const tooBig = await new ModelCache({ budget: 50 }).put(c.hash, c.bytes);
    return {
      mismatch,
      afterMismatch,
      gotSame: got !== undefined && got.name === 'a' && new Uint8Array(got.bytes).every((v, i) => v === new Uint8Array(a.bytes)[i]),
      kept,
      tooBig,
      hashes: { a: a.hash, c: c.hash },
    };
  });
  expect(r.mismatch).toBe('hash-mismatch');
  expect(r.afterMismatch).toEqual({ has: false, size: 0 });
  expect(r.gotSame).toBe(true);
  expect(r.kept).toEqual({ a: true, b: false, c: true, size: 120 });
  expect(r.tooBig).toBe(false);

  // What was kept is in IndexedDB, not in the page: it is still there after a reload.
  await page.reload();
  await page.waitForFunction(() => 'meshStorage' in window);
  const persisted = await page.evaluate(async (h) => {
    const cache = new window.meshStorage.ModelCache();
    return { a: await cache.has(h.a), c: await cache.has(h.c), size: await cache.size() };
  }, r.hashes);
  expect(persisted).toEqual({ a: true, c: true, size: 120 });
});

test('a contributor receives a model once: not for its second ONNX job, nor after a reload (IndexedDB cache)', async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
  const contributor = await openStoragePeer(browser);
  const contributorId = await connectPeer(contributor, { contribute: true });
  const client = await openStoragePeer(browser);
  await connectPeer(client);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(1);

  const model = await client.evaluate(async () => {
    const models = (await (await fetch('/models/index.json')).json()) as { id: string; url: string; hash: string; bytes: number; outputs: string[] }[];
    return models.find((m) => m.id === 'ppocr-det-v4')!;
  });
  /** Runs one single-shard ONNX job from the client; returns its output dims and the shard's contributor. */
  const runJob = () =>
    client.evaluate(async (m) => {
      const { mesh } = (window as unknown as PeerWindow).peer;
      const x = window.meshTest.renderTextImages(2, 32, 64);
      const job = mesh.client.runOnnx({
        model: { url: m.url, name: m.id },
        inputs: { x: { dtype: 'float32', dims: [2, 3, 32, 64], data: x } },
        outputs: m.outputs,
        itemsPerShard: 2,
        verifyFraction: 0,
      });
      const out = (await job.result)[m.outputs[0]!]!;
      const detail = await mesh.client.jobDetail(await job.jobId);
      return { dims: out.dims, contributors: detail.shards.map((s) => s.runs.find((r) => r.state === 'paid')?.contributor) };
    }, model);
  const modelBlobs = () => client.evaluate(() => window.meshStorage.sent.filter((f) => f.type === 'blob' && f.what === 'model').map((f) => f.bytes));
  const needs = (page: Page) => page.evaluate(() => window.meshStorage.sent.filter((f) => f.type === 'need').map((f) => f.model));
  const cached = (page: Page, hash: string) => page.evaluate((h) => new window.meshStorage.ModelCache().has(h), hash);

  // First job: the contributor asks for the model, the client sends its bytes, the contributor caches them.
  const first = await runJob();
  expect(first.dims).toEqual([2, 1, 32, 64]);
  expect(first.contributors).toEqual([contributorId]);
  expect(await needs(contributor)).toEqual([true]);
  expect(await modelBlobs()).toEqual([model.bytes]);
  await expect.poll(() => cached(contributor, model.hash)).toBe(true);

  // Second job on the same contributor: no model on the wire.
  const second = await runJob();
  expect(second.contributors).toEqual([contributorId]);
  expect(await needs(contributor)).toEqual([true, false]);
  expect(await modelBlobs()).toEqual([model.bytes]);

  // After a reload the contributor's workers hold no ONNX session: only the IndexedDB cache spares the transfer.
  await contributor.reload();
  await contributor.waitForFunction(() => 'meshStorage' in window);
  expect(await connectPeer(contributor, { contribute: true })).toBe(contributorId);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(1);
  const third = await runJob();
  expect(third.dims).toEqual([2, 1, 32, 64]);
  expect(third.contributors).toEqual([contributorId]);
  expect(await needs(contributor)).toEqual([false]);
  expect(await modelBlobs()).toEqual([model.bytes]);
});
