// Continuous serving end to end: a real coordinator, contributor browsers keeping the PP-OCRv4 detector loaded
// as serving replicas, client pages calling `infer()` concurrently over WebRTC. Checks that every answer equals
// the model run in the client page, that concurrent requests are really merged into batches, that a replica
// closed mid-stream loses no request (its requests go to the other replica, and a spare takes its place), that
// a second client joins a shared service and pays for its own requests, and that the books balance.
import { expect, test, type Page } from '@playwright/test';
import { closeLeftoverPeers, connectPeer, ledger, openPeer, type PeerWindow } from './fixtures.ts';
import { openApp, setNumber } from './pwa-helpers.ts';

/** Both sides run onnxruntime-web wasm; thread counts and batch sizes may differ in the last bits. */
const ONNX_TOLERANCE = 1e-4;
const H = 32;
const W = 64;

test.describe.configure({ mode: 'serial' });
test.beforeEach(async ({ browser, request }) => closeLeftoverPeers(browser, request));
test.afterAll(async ({ browser, request }) => closeLeftoverPeers(browser, request));

/** What each caller run in the client page reports. */
interface CallerReport {
  answered: number;
  maxAbsDiff: number;
  failures: string[];
  stats: { requests: number; maxBatch: number; batchedAnswers: number; p50Ms: number; p99Ms: number; requestsPerSec: number; busy: number; retries: number; spotChecks: number; mismatches: number };
}

/**
 * In the client page: opens a service (or uses `serviceId`), runs `callers` concurrent loops of `each` requests
 * over `images` distinct rendered images (one item each), compares every answer with ORT in the page, and can
 * run `midway` (e.g. close a contributor) once `midwayAfter` answers came. Leaves the handle on `window.serve`.
 */
function runCallers(page: Page, opts: { callers: number; each: number; images: number; serviceId?: string; open?: { replicas: number; spotCheck: number; shared: boolean } }) {
  return page.evaluate(async ({ callers, each, images, serviceId, open, h, w }) => {
    const { ort, renderTextImages } = window.meshTest;
    const { mesh } = (window as unknown as PeerWindow).peer;
    const models = (await (await fetch('/models/index.json')).json()) as { id: string; url: string; outputs: string[] }[];
    const model = models.find((m) => m.id === 'ppocr-det-v4')!;
    const w8 = window as unknown as { serve?: Awaited<ReturnType<typeof mesh.client.serve>> };
    const handle = serviceId !== undefined
      ? await mesh.client.join(serviceId, { budget: 5_000_000 })
      : await mesh.client.serve({ model: { url: model.url, name: model.id }, outputs: model.outputs, maxBatch: 8, maxWaitMs: 20, replicas: open!.replicas, spotCheck: open!.spotCheck, shared: open!.shared, budget: 50_000_000 });
    w8.serve = handle;
    await handle.ready();
    const x = renderTextImages(images, h, w);
    const item = h * w * 3;
    const session = await ort.InferenceSession.create(model.url, { executionProviders: ['wasm'] });
    const refs: Float32Array[] = [];
    for (let i = 0; i < images; i++) {
      const input = new ort.Tensor('float32', x.slice(i * item, (i + 1) * item), [1, 3, h, w]);
      refs.push((await session.run({ x: input }))[model.outputs[0]!]!.data as Float32Array);
    }
    let answered = 0;
    let maxAbsDiff = 0;
    const failures: string[] = [];
    await Promise.all(Array.from({ length: callers }, async (_, c) => {
      for (let k = 0; k < each; k++) {
        const i = (c * each + k) % images;
        try {
          const out = await handle.infer({ x: { dtype: 'float32', dims: [1, 3, h, w], data: x.subarray(i * item, (i + 1) * item) } });
          const got = out[model.outputs[0]!]!.data as Float32Array;
          const ref = refs[i]!;
          if (got.length !== ref.length) failures.push(`request ${c}/${k}: ${got.length} values, expected ${ref.length}`);
          for (let j = 0; j < ref.length; j++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[j]! - ref[j]!));
          answered++;
        } catch (err) {
          failures.push(`request ${c}/${k}: ${(err as Error).message}`);
        }
      }
    }));
    return { serviceId: handle.serviceId, answered, maxAbsDiff, failures, stats: handle.stats() };
  }, { ...opts, h: H, w: W });
}

test('concurrent callers get the model\'s outputs from batched replicas; a closed replica loses nothing; a joiner pays its own way', async ({ browser }) => {
  const contributors = await Promise.all([0, 1, 2].map(() => openPeer(browser)));
  const ids: string[] = [];
  for (const page of contributors) ids.push(await connectPeer(page, { contribute: true }));
  const client = await openPeer(browser);
  const clientId = await connectPeer(client);
  const before = await ledger(client);

  // 1. Sixteen concurrent callers, three requests each, against two replicas; a fifth of requests spot-checked.
  const first = await runCallers(client, { callers: 16, each: 3, images: 12, open: { replicas: 2, spotCheck: 0.2, shared: true } }) as CallerReport & { serviceId: string };
  console.log(`serve: ${first.answered} answers, max |mesh - page| ${first.maxAbsDiff.toExponential(2)}, stats ${JSON.stringify(first.stats)}`);
  expect(first.failures).toEqual([]);
  expect(first.answered).toBe(48);
  expect(first.maxAbsDiff).toBeLessThanOrEqual(ONNX_TOLERANCE);
  expect(first.stats.maxBatch).toBeGreaterThan(1); // concurrent requests were merged into one model run
  expect(first.stats.batchedAnswers).toBeGreaterThan(0);
  expect(first.stats.p99Ms).toBeGreaterThanOrEqual(first.stats.p50Ms);
  expect(first.stats.spotChecks).toBeGreaterThan(0);
  expect(first.stats.mismatches).toBe(0);
  const placed = await client.evaluate(() => (window as unknown as { serve: { replicas: { contributor: string }[] } }).serve.replicas.map((r) => r.contributor));
  expect(placed).toHaveLength(2);
  const spare = ids.find((id) => !placed.includes(id))!;

  // 2. A replica's page closes while 40 requests are in flight: every request still gets its right answer.
  const victim = contributors[ids.indexOf(placed[0]!)]!;
  const midstream = runCallers(client, { callers: 8, each: 5, images: 12, serviceId: first.serviceId });
  await client.waitForFunction(() => ((window as unknown as { serve?: { stats(): { requests: number } } }).serve?.stats().requests ?? 0) >= 52);
  await victim.context().close();
  const second = await midstream as CallerReport;
  console.log(`mid-stream close: ${second.answered} answers, retries ${second.stats.retries}, busy ${second.stats.busy}`);
  expect(second.failures).toEqual([]);
  expect(second.answered).toBe(40);
  expect(second.maxAbsDiff).toBeLessThanOrEqual(ONNX_TOLERANCE);
  // The coordinator places a new replica on the spare contributor.
  await expect.poll(() => client.evaluate(() => (window as unknown as { serve: { replicas: { contributor: string }[] } }).serve.replicas.map((r) => r.contributor))).toContain(spare);

  // 3. Another client joins the shared service and pays for its own requests.
  const guest = await openPeer(browser);
  const guestId = await connectPeer(guest);
  const guestRun = await runCallers(guest, { callers: 4, each: 2, images: 4, serviceId: first.serviceId }) as CallerReport;
  expect(guestRun.failures).toEqual([]);
  expect(guestRun.maxAbsDiff).toBeLessThanOrEqual(ONNX_TOLERANCE);
  const guestStatus = await guest.evaluate(async () => (window as unknown as { serve: { close(): Promise<{ spent: number; fees: number; refunded: number }> } }).serve.close());
  expect(guestStatus.spent).toBeGreaterThan(0);

  // 4. The owner closes: its escrow comes back less what its receipts paid; the books balance.
  const status = await client.evaluate(async () => (window as unknown as { serve: { close(): Promise<{ state: string; spent: number; fees: number; refunded: number; workUnits: number }> } }).serve.close());
  expect(status.state).toBe('closed');
  expect(status.workUnits).toBeGreaterThanOrEqual(88 * 1000); // every answer paid for (spot checks and retries may add)
  const after = await ledger(client);
  expect(after.total).toBe(after.minted);
  expect(after.accounts[`peer:${clientId}`]).toBe(before.accounts[`peer:${clientId}`]! - status.spent - status.fees);
  expect(after.accounts[`peer:${guestId}`]).toBe(1000 * 1_000_000 - guestStatus.spent - guestStatus.fees); // the guest paid its own way
  const earned = ids.filter((id) => id !== placed[0]).map((id) => after.accounts[`peer:${id}`] ?? 0);
  expect(Math.max(...earned)).toBeGreaterThan(1000 * 1_000_000); // a replica was paid beyond its starter credits
});

test('the Run tab\'s serving panel opens a service, keeps requests in flight and shows live figures that change', async ({ browser }) => {
  const contributor = await openPeer(browser);
  await connectPeer(contributor, { contribute: true });
  const app = await openApp(browser, '#run');
  await expect(app.getByTestId('serve-model')).toContainText('(32×96)'); // the detector, from the catalog
  await setNumber(app, 'serve-concurrency', 4);
  await app.getByTestId('serve-start').click();
  await expect(app.getByTestId('serve-phase')).toHaveText('Serving', { timeout: 60_000 });
  const answered = async () => Number(await app.getByTestId('serve-requests').textContent());
  await expect.poll(answered, { timeout: 60_000 }).toBeGreaterThan(0);
  const first = await answered();
  const figures = async () => Object.fromEntries(await Promise.all(['serve-rps', 'serve-p50', 'serve-p99', 'serve-queue', 'serve-batch'].map(async (id) => [id, (await app.getByTestId(id).textContent())!.trim()])));
  const before = await figures();
  await expect.poll(answered, { timeout: 60_000 }).toBeGreaterThan(first + 20); // the figures keep moving
  const after = await figures();
  console.log(`serving panel: ${first} answered, then ${await answered()}; ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  expect(Number(after['serve-rps'])).toBeGreaterThan(0);
  expect(after['serve-p50']).toMatch(/^\d+ ms$|^[\d.]+ s$/);
  expect(after['serve-p99']).toMatch(/^\d+ ms$|^[\d.]+ s$/);
  expect(Number(after['serve-queue'])).toBeGreaterThanOrEqual(0);
  expect(Number(after['serve-batch'])).toBeGreaterThanOrEqual(1);
  expect(Number(after['serve-batch'])).toBeLessThanOrEqual(8);
  await app.getByTestId('serve-stop').click();
  await expect(app.getByTestId('serve-start')).toBeEnabled({ timeout: 60_000 });
  expect(Number((await app.getByTestId('serve-spent').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0); // receipts paid the replica
  await app.context().close();
});
