// Every job handle settles, in real Chromium against real coordinators: a job the coordinator lost (killed
// with -9 and restarted on a fresh data dir) rejects with 'not-found' and resolves its cost on the client's own
// record; a job contributors find wrong (an output the model does not have) fails fast with their reason, and the
// client never also rejects those leases as bad output; a job the coordinator cancelled while its client was
// away past the grace settles as soon as the client is back. Where the coordinator survives, its books are
// conserved (the client paid exactly the job's cost, the escrow is empty, nothing minted); each test logs its
// timings and refund (settle/... lines).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type APIRequestContext, expect, type Page, test } from '@playwright/test';
import type { JobCost, JobHandle, JobProgress } from '../src/sdk/index.ts';
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
  spawnCoordinator,
} from './fixtures.ts';

test.describe.configure({ mode: 'serial' });

/** What `track()` records of one job handle in the page. */
interface Settle {
  events: JobProgress[];
  balanceAt: number[];
  jobId?: string;
  jobIdAt?: number;
  outcome?: { ok: boolean; name?: string; code?: string | undefined; message?: string };
  cost?: JobCost;
  costError?: string;
  settledAt?: number;
}
type SettleWindow = PeerWindow & { settle: Settle; track(job: JobHandle<unknown>): void };

/** The coordinator a test started itself, stopped after each test whatever happened. */
let own: CoordinatorProcess | undefined;
const dirs: string[] = [];

function newDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `meshwork-settle-${tag}-`));
  dirs.push(dir);
  return dir;
}

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
  await own?.stop();
  own = undefined;
});

test.afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Installs `window.track(job)` (after connectPeer): records the handle's events, outcome, cost and times. */
function installTracker(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as SettleWindow;
    const s: Settle = { events: [], balanceAt: [] };
    w.settle = s;
    w.peer.mesh.addEventListener('balance', () => s.balanceAt.push(Date.now()));
    w.track = (job) => {
      job.jobId.then((id) => ((s.jobId = id), (s.jobIdAt = Date.now())), () => {});
      job.addEventListener('progress', (e) => s.events.push((e as CustomEvent<JobProgress>).detail));
      job.result.then(
        () => (s.outcome = { ok: true }),
        (err: Error & { code?: string }) => (s.outcome = { ok: false, name: err.name, code: err.code, message: err.message }),
      );
      job.cost.then(
        (c) => ((s.cost = c), (s.settledAt = Date.now())),
        (err: Error) => ((s.costError = err.message), (s.settledAt = Date.now())),
      );
    };
  });
}

const settled = (page: Page) => page.evaluate(() => (window as unknown as SettleWindow).settle);

/** Waits until the page's tracked handle settled (result and cost), and returns what it recorded. */
async function whenSettled(page: Page, timeout: number): Promise<Settle> {
  await expect.poll(async () => {
    const s = await settled(page);
    return s.settledAt !== undefined && s.outcome !== undefined;
  }, { timeout }).toBe(true);
  return settled(page);
}

/**
 * Installed before the page's scripts: the mesh API socket can be dropped and kept from reconnecting
 * (`window.away`), as when a laptop sleeps or a network goes away, while the SDK's session lives on.
 */
function switchableMeshSocket(): void {
  const Native = window.WebSocket;
  const live = new Set<WebSocket>();
  const away = {
    blocked: false,
    drop() {
      for (const ws of live) ws.close();
    },
  };
  class Switchable extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      const mesh = new URL(String(url)).pathname.endsWith('/mesh');
      // Port 9 (discard) refuses at once: the reconnect attempt fails like one to an unreachable coordinator.
      super(mesh && away.blocked ? 'ws://127.0.0.1:9/mesh' : url, protocols);
      if (mesh) {
        live.add(this);
        this.addEventListener('close', () => live.delete(this));
      }
    }
  }
  window.WebSocket = Switchable;
  (window as unknown as { away: typeof away }).away = away;
}

/**
 * Installed before the page's scripts: a contributor that reports every ONNX lease it is assigned as
 * 'bad-input' with the coordinator's `fail` frame (as the contributor side does once its worker finds an output
 * the model lacks) instead of running it. The SDK never sees those assignments.
 */
function badInputReporter(): void {
  const Native = window.WebSocket;
  let rid = 1_000_000_000; // far above the session's own request ids; the answer is ignored
  class Reporter extends Native {
    readonly #mesh: boolean;
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.#mesh = new URL(String(url)).pathname.endsWith('/mesh');
    }
    override get onmessage(): WebSocket['onmessage'] {
      return super.onmessage;
    }
    override set onmessage(handler: WebSocket['onmessage']) {
      if (!handler || !this.#mesh) {
        super.onmessage = handler;
        return;
      }
      super.onmessage = (e: MessageEvent) => {
        const frame = typeof e.data === 'string' ? (JSON.parse(e.data) as { type?: string; lease?: { jobId: string; shard: number; leaseId: string }; kernel?: { kind: string; outputs?: string[] } }) : {};
        if (frame.type === 'assign' && frame.kernel?.kind === 'onnx' && frame.lease) {
          const { jobId, shard, leaseId } = frame.lease;
          const message = `Cannot run ONNX model as it has no output '${(frame.kernel.outputs ?? []).join("', '")}'`;
          this.send(JSON.stringify({ type: 'fail', rid: rid++, jobId, shard, leaseId, reason: 'bad-input', message }));
          return;
        }
        handler.call(this, e);
      };
    }
  }
  window.WebSocket = Reporter;
}

/** The client's peer id (after connectPeer). */
const peerIdOf = (page: Page) => page.evaluate(() => (window as unknown as PeerWindow).peer.mesh.peerId);

/**
 * The books of a coordinator that saw the whole job, against `before` (taken once every peer of the test had
 * its account): the client paid exactly the job's spent and fees, contributors earned the spent, the fees
 * account took the fees, the job's escrow is empty, nothing was minted, and the accounts add up to the minted.
 */
async function expectBooksConserved(page: Page, base: string, before: LedgerAudit, clientId: string, jobId: string, cost: JobCost): Promise<LedgerAudit> {
  const after = await ledger(page, base);
  const delta = (account: string) => (after.accounts[account] ?? 0) - (before.accounts[account] ?? 0);
  expect(delta(`peer:${clientId}`) + cost.spent + cost.fees).toBe(0);
  expect(after.accounts[`escrow:${jobId}`] ?? 0).toBe(0);
  expect(delta('fees')).toBe(cost.fees);
  const others = Object.keys({ ...before.accounts, ...after.accounts }).filter((a) => a.startsWith('peer:') && a !== `peer:${clientId}`);
  expect(others.reduce((sum, a) => sum + delta(a), 0)).toBe(cost.spent);
  expect(after.minted).toBe(before.minted);
  expect(Object.values(after.accounts).reduce((x, y) => x + y, 0)).toBe(after.minted);
  expect(after.total).toBe(after.minted);
  return after;
}

/** `meshwork_errors_total{kind="lease-bad-input"}` of the suite's coordinator. */
async function badInputReports(request: APIRequestContext): Promise<number> {
  const text = await (await request.get('/metrics')).text();
  return Number(/^meshwork_errors_total\{kind="lease-bad-input"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Starts, on the client page, the PP-OCR detector over 4 small images (1 per shard) asking for output 'nope'. */
function runMissingOutput(client: Page): Promise<void> {
  return client.evaluate(async () => {
    const w = window as unknown as SettleWindow;
    const models = (await (await fetch('/models/index.json')).json()) as { id: string; url: string }[];
    const model = models.find((m) => m.id === 'ppocr-det-v4')!;
    const n = 4, h = 32, width = 64;
    const x = window.meshTest.renderTextImages(n, h, width);
    w.track(w.peer.mesh.client.runOnnx({
      model: { url: model.url, name: model.id },
      inputs: { x: { dtype: 'float32', dims: [n, 3, h, width], data: x } },
      outputs: ['nope'],
      itemsPerShard: 1,
    }));
  });
}

/** The checks common to both missing-output tests: a typed error with the contributors' reason, fast, few runs. */
function expectFoundWrong(s: Settle): void {
  expect(s.outcome).toMatchObject({ ok: false, name: 'MeshError', code: 'invalid-message' });
  expect(s.outcome!.message).toMatch(/found it wrong \(shard \d+: bad-input: .*'nope'/);
  expect(s.jobIdAt).toBeDefined();
  expect(s.settledAt! - s.jobIdAt!).toBeLessThan(10_000);
  const last = s.events.at(-1)!;
  expect(last.state).toBe('failed');
  expect(last.error).toEqual({ code: 'invalid-message', message: s.outcome!.message });
  // Refunded in full: nothing ran.
  expect(s.cost).toMatchObject({ spent: 0, fees: 0, unknown: 0, source: 'coordinator' });
  expect(s.cost!.refunded).toBe(s.cost!.escrow);
  // Fewer than 10 runs per shard; every one the coordinator released as the contributor's report, none
  // rejected by the client.
  const runs = new Map<number, number>();
  for (const e of s.events) if (e.state === 'assigned') runs.set(e.shard!, (runs.get(e.shard!) ?? 0) + 1);
  expect(Math.max(...runs.values())).toBeLessThan(10);
  expect(s.events.filter((e) => e.state === 'failed' && e.shard !== undefined)).toEqual([]);
  for (const e of s.events.filter((e) => e.state === 'released')) expect(e.failure).toBe('bad-input');
}

test("a job naming an output the model does not have fails within 10 s with the contributors' reason", async ({ browser, request }) => {
  // Real contributors: their lease runner reports 'bad-input' with the coordinator's `fail` frame.
  await closeLeftoverPeers(browser, request);
  const reportsBefore = await badInputReports(request);
  for (const page of await Promise.all([0, 1].map(() => openPeer(browser)))) await connectPeer(page, { contribute: true });
  const client = await openPeer(browser);
  await connectPeer(client);
  await installTracker(client);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(2);
  await runMissingOutput(client);
  const s = await whenSettled(client, 60_000);
  expectFoundWrong(s);
  expect((await badInputReports(request)) - reportsBefore).toBeGreaterThanOrEqual(2);
});

test("contributors reporting 'bad-input': the job fails at once with their reason, and the client rejects none of those leases", async ({ browser, request }) => {
  await closeLeftoverPeers(browser, request);
  const reportsBefore = await badInputReports(request);
  for (const page of await Promise.all([0, 1].map(() => openPeer(browser, undefined, badInputReporter)))) await connectPeer(page, { contribute: true });
  const client = await openPeer(browser);
  await connectPeer(client);
  await installTracker(client);
  await expect.poll(async () => (await meshStats(request)).contributors).toBe(2);
  const clientId = await peerIdOf(client);
  const before = await ledger(client);
  await runMissingOutput(client);
  const s = await whenSettled(client, 30_000);
  expectFoundWrong(s);
  expect(s.outcome!.message).toMatch(/^Cannot run job \S+ as 2 contributor\(s\) found it wrong .*no output 'nope'/);
  expect(s.events.some((e) => e.state === 'released' && e.failure === 'bad-input')).toBe(true);
  expect((await badInputReports(request)) - reportsBefore).toBeGreaterThanOrEqual(2);
  await expectBooksConserved(client, '', before, clientId, s.jobId!, s.cost!);
  const assigned = s.events.filter((e) => e.state === 'assigned').length;
  console.log(`settle/failed: submit->settle ${s.settledAt! - s.jobIdAt!} ms; escrow ${s.cost!.escrow}, refunded ${s.cost!.refunded}, spent ${s.cost!.spent}, fees ${s.cost!.fees}; ${assigned} runs assigned, ${s.events.filter((e) => e.state === 'released').length} released as bad-input`);
});

test('kill -9 of the coordinator mid-job, restarted on a fresh data dir: the lost job rejects and its cost resolves within 10 s of the restart', async ({ browser }) => {
  const port = await freePort();
  own = await spawnCoordinator(port, newDir('before'), ['--trust-newcomers', 'on']);
  const base = own.url;
  const contributors = await Promise.all([0, 1].map(() => openPeer(browser)));
  for (const page of contributors) await connectPeer(page, { coordinator: base, contribute: true });
  const client = await openPeer(browser);
  await connectPeer(client, { coordinator: base });
  await installTracker(client);
  await expect.poll(async () => (await meshStats(client.request, base)).contributors).toBe(2);

  // 64 shards of an exact 256 x 64 x 256 matmul: long enough to kill the coordinator with some of them paid.
  await client.evaluate(() => {
    const w = window as unknown as SettleWindow;
    const m = 256, k = 64, n = 256;
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 5) % 7) - 3);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) - 3);
    w.track(w.peer.mesh.client.runMatmul({ a, b, m, k, n, tile: 32, verifyFraction: 0 }));
  });
  await expect.poll(async () => Math.max(0, ...(await settled(client)).events.map((e) => e.done)), { timeout: 60_000 }).toBeGreaterThan(3);
  const jobId = (await settled(client)).jobId!;
  const held = (await ledger(client, base)).accounts[`escrow:${jobId}`] ?? 0;
  await own.kill();
  const killedAt = Date.now();
  own = await spawnCoordinator(port, newDir('after'), ['--trust-newcomers', 'on']);
  const restartedAt = Date.now();

  const s = await whenSettled(client, 60_000);
  const reconnectedAt = s.balanceAt.find((t) => t > killedAt);
  expect(reconnectedAt, 'the client authenticated at the new coordinator').toBeDefined();
  expect(s.settledAt! - reconnectedAt!).toBeLessThan(10_000);
  expect(s.settledAt! - restartedAt).toBeLessThan(10_000);
  expect(s.outcome).toMatchObject({ ok: false, name: 'MeshError', code: 'not-found' });
  expect(s.outcome!.message).toMatch(/as the coordinator no longer knows it/);
  const last = s.events.at(-1)!;
  expect(last.state).toBe('lost');
  expect(last.error?.code).toBe('not-found');
  // The client's own record: what it knows it paid, the rest of the escrow unknown.
  const cost = s.cost!;
  expect(cost.source).toBe('client');
  expect(cost.escrow).toBeGreaterThan(0);
  expect(cost.spent).toBeGreaterThan(0);
  expect(cost.spent + cost.fees + cost.refunded + cost.unknown).toBe(cost.escrow);
  expect(cost.unknown).toBeGreaterThan(0);
  expect(await client.evaluate(() => (window as unknown as PeerWindow).peer.closes)).toEqual([]);
  // The new coordinator holds no escrow of the lost job, and its own books add up.
  const books = await ledger(client, base);
  expect(books.accounts[`escrow:${jobId}`] ?? 0).toBe(0);
  expect(books.total).toBe(books.minted);
  const done = Math.max(0, ...s.events.map((e) => e.done));
  console.log(`settle/lost: kill->restart ${restartedAt - killedAt} ms, restart->reconnect ${reconnectedAt! - restartedAt} ms, reconnect->settle ${s.settledAt! - reconnectedAt!} ms, restart->settle ${s.settledAt! - restartedAt} ms; ${done} of 64 shards settled; escrow ${cost.escrow}, known spent ${cost.spent} + fees ${cost.fees}, unknown ${cost.unknown} (old ledger's escrow balance shortly before the kill: ${held})`);
});

test('a job the coordinator cancelled while its client was away past the grace settles when the client is back', async ({ browser }) => {
  const port = await freePort();
  own = await spawnCoordinator(port, newDir('away'), ['--trust-newcomers', 'on', '--client-grace-ms', '500']);
  const base = own.url;
  const client = await openPeer(browser, undefined, switchableMeshSocket);
  const clientId = await connectPeer(client, { coordinator: base });
  await installTracker(client);
  const before = await ledger(client, base);
  // No contributor: the job stays queued until the coordinator ends it.
  await client.evaluate(() => {
    const w = window as unknown as SettleWindow;
    const a = new Float32Array(64 * 64).fill(1);
    w.track(w.peer.mesh.client.runMatmul({ a, b: a, m: 64, k: 64, n: 64, tile: 32 }));
  });
  await expect.poll(async () => (await settled(client)).jobId).toBeDefined();
  await expect.poll(async () => (await meshStats(client.request, base)).jobs).toBe(1);
  const authsBefore = (await settled(client)).balanceAt.length;

  // Away: the mesh socket drops and cannot come back; past the grace the coordinator cancels the job.
  await client.evaluate(() => {
    const { away } = window as unknown as { away: { blocked: boolean; drop(): void } };
    away.blocked = true;
    away.drop();
  });
  await expect.poll(async () => (await meshStats(client.request, base)).jobs, { timeout: 10_000 }).toBe(0);
  expect((await settled(client)).outcome).toBeUndefined(); // nobody told the client yet
  await client.evaluate(() => ((window as unknown as { away: { blocked: boolean } }).away.blocked = false));
  const backAt = Date.now();

  const s = await whenSettled(client, 30_000);
  expect(s.balanceAt.length, 'the client authenticated again').toBeGreaterThan(authsBefore);
  expect(s.outcome).toMatchObject({ ok: false, name: 'MeshError', code: 'cancelled' });
  expect(s.outcome!.message).toMatch(/the coordinator cancelled it/);
  expect(s.events.at(-1)).toMatchObject({ state: 'cancelled', error: { code: 'cancelled' } });
  expect(s.cost).toMatchObject({ spent: 0, fees: 0, unknown: 0, source: 'coordinator' });
  expect(s.cost!.refunded).toBe(s.cost!.escrow);
  expect(await client.evaluate(() => (window as unknown as PeerWindow).peer.closes)).toEqual([]);
  await expectBooksConserved(client, base, before, clientId, s.jobId!, s.cost!);
  console.log(`settle/cancelled: back->settle ${s.settledAt! - backAt} ms; escrow ${s.cost!.escrow}, refunded ${s.cost!.refunded}`);
});
