// Shared helpers for the e2e specs: one browser context per peer (own IndexedDB, so own key pair).
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type APIRequestContext, type Browser, type Page, expect } from '@playwright/test';
import type { MeshTestHarness } from './pages/mesh.ts';

/**
 * A page of its own browser context, on the harness page, with the SDK loaded. `init` runs in the page before its
 * own scripts (Playwright addInitScript: a self-contained function, e.g. one that wraps a browser API).
 */
export async function openPeer(browser: Browser, path = '/e2e/pages/mesh.html', init?: () => void): Promise<Page> {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone']);
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  page.on('response', (res) => { if (res.status() === 404) console.error('[404] ' + res.url()); });
  page.on('console', (msg) => {
    if (msg.type() === 'error') console.error(`[console] ${msg.text()}`);
  });
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  return page;
}

/** Connects the page to the mesh and starts contributing; returns the peer id. */
export async function startContributor(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const mesh = await window.meshTest.sdk.connect();
    (window as unknown as { mesh: typeof mesh }).mesh = mesh;
    const shards: unknown[] = [];
    mesh.contributor.addEventListener('shard', (e) => shards.push((e as CustomEvent).detail));
    (window as unknown as { shardEvents: unknown[] }).shardEvents = shards;
    await mesh.contributor.start({ cpuCap: 1, gpuCap: 1, backgroundTuning: false });
    return mesh.peerId;
  });
}

/** Connects the page as a client; returns the peer id. */
export async function connectClient(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const mesh = await window.meshTest.sdk.connect();
    (window as unknown as { mesh: typeof mesh }).mesh = mesh;
    return mesh.peerId;
  });
}

/** Operator token of the coordinators the suite starts (`--audit-token`). */
export const E2E_AUDIT_TOKEN = 'e2e-audit-token-0123456789';

/**
 * The coordinator's ledger audit. `accounts['peer:<id>']` is what the peer can spend: its earned and its
 * grant credits together (the ledger keeps them apart in `peer:` and `grant:` accounts); `grants` has the
 * grant part alone.
 */
export interface LedgerAudit {
  minted: number;
  total: number;
  accounts: Record<string, number>;
  grants: Record<string, number>;
}

/** Reads the ledger audit (operator token) of the page's origin, or of the coordinator at `base`. */
export async function ledger(page: Page, base = ''): Promise<LedgerAudit> {
  const res = await page.request.get(`${base}/api/audit`, { headers: { authorization: `Bearer ${E2E_AUDIT_TOKEN}` } });
  expect(res.ok()).toBe(true);
  const raw = (await res.json()) as { minted: number; total: number; accounts: Record<string, number> };
  const accounts: Record<string, number> = {};
  const grants: Record<string, number> = {};
  for (const [key, value] of Object.entries(raw.accounts)) {
    const peer = key.startsWith('grant:') ? `peer:${key.slice(6)}` : key;
    if (key.startsWith('grant:')) grants[peer] = value;
    accounts[peer] = (accounts[peer] ?? 0) + value;
  }
  return { minted: raw.minted, total: raw.total, accounts, grants };
}

// ---- Helpers for the verification, storage and resilience specs -------------------------------------------

/** What `connectPeer` leaves on `window.peer` for later `evaluate` calls. */
export interface PeerState {
  mesh: Awaited<ReturnType<MeshTestHarness['sdk']['connect']>>;
  /** Balances announced by 'balance' events (one after every (re)authentication, among others). */
  balances: number[];
  /** Errors (messages) of 'close' events: the session gave up. */
  closes: string[];
  /** 'moved' events: the session failed over to another coordinator of its list. */
  moves: { from: string; to: string }[];
  /** The contributor's 'shard' events. */
  shards: { leaseId: string; jobId: string; shard: number; phase: string }[];
}

/** `window` of a harness page after `connectPeer`. */
export type PeerWindow = Window & { peer: PeerState };

/**
 * Connects the harness page to the mesh (the page's origin, or `coordinator` and/or the cluster list
 * `coordinators`; through the TURN relay only with `relayOnly`), records the session's events on `window.peer`,
 * and starts contributing when `contribute` is set. Returns the peer id.
 */
export async function connectPeer(
  page: Page,
  opts: { coordinator?: string; coordinators?: string[]; contribute?: boolean; relayOnly?: boolean; modelMemoryMB?: number } = {},
): Promise<string> {
  return page.evaluate(async ({ coordinator, coordinators, contribute, relayOnly, modelMemoryMB }) => {
    const mesh = await window.meshTest.sdk.connect({
      ...(coordinator === undefined ? {} : { coordinator }),
      ...(coordinators === undefined ? {} : { coordinators }),
      ...(relayOnly ? { relayOnly } : {}),
    });
    const peer: PeerState = { mesh, balances: [], closes: [], moves: [], shards: [] };
    (window as unknown as PeerWindow).peer = peer;
    mesh.addEventListener('balance', (e) => peer.balances.push((e as CustomEvent<{ balance: number }>).detail.balance));
    mesh.addEventListener('moved', (e) => peer.moves.push((e as CustomEvent<{ from: string; to: string }>).detail));
    mesh.addEventListener('close', (e) => peer.closes.push(String((e as CustomEvent<{ error?: Error }>).detail?.error?.message)));
    mesh.contributor.addEventListener('shard', (e) => peer.shards.push((e as CustomEvent<PeerState['shards'][number]>).detail));
    if (contribute) await mesh.contributor.start({ cpuCap: 1, gpuCap: 1, backgroundTuning: false, ...(modelMemoryMB === undefined ? {} : { modelMemoryMB }) });
    return mesh.peerId;
  }, { coordinator: opts.coordinator, coordinators: opts.coordinators, contribute: opts.contribute ?? false, relayOnly: opts.relayOnly ?? false, modelMemoryMB: opts.modelMemoryMB });
}

/**
 * Runs an m x k x n matmul of small integers from `page` (exact in f32) and returns the number of elements
 * that differ from the CPU reference, with the job's cost and id.
 */
export function runExactMatmul(page: Page, m: number, k: number, n: number, tile: number) {
  return page.evaluate(async ({ m, k, n, tile }) => {
    const { mesh } = (window as unknown as PeerWindow).peer;
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 5) % 7) - 3);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 3) % 7) - 3);
    const job = mesh.client.runMatmul({ a, b, m, k, n, tile, verifyFraction: 0 });
    const c = await job.result;
    const cost = await job.cost;
    const mismatches = window.meshTest.matmulMismatches(a, b, c, m, k, n);
    return { jobId: await job.jobId, length: c.length, mismatches, cost };
  }, { m, k, n, tile });
}

/** The coordinator's `/api/stats`. */
export interface MeshStats {
  contributors: number;
  active: number;
  jobs: number;
  peers: number;
}

/** Reads `/api/stats` of the suite's coordinator, or of the one at `base`. */
export async function meshStats(request: APIRequestContext, base = ''): Promise<MeshStats> {
  const res = await request.get(`${base}/api/stats`);
  expect(res.ok()).toBe(true);
  return (await res.json()) as MeshStats;
}

/**
 * Closes every browser context still open and waits until the coordinator lists no contributor. Playwright
 * does not close contexts a test made with `browser.newContext()`, so contributors left by earlier tests of
 * this worker would otherwise take shards of a test that counts on its own contributors.
 */
export async function closeLeftoverPeers(browser: Browser, request: APIRequestContext): Promise<void> {
  await Promise.all(browser.contexts().map((c) => c.close()));
  await expect.poll(async () => (await meshStats(request)).contributors, { timeout: 15_000 }).toBe(0);
}

/** A coordinator process a test started itself (`spawnCoordinator`). */
export interface CoordinatorProcess {
  /** Base URL, e.g. http://127.0.0.1:8795. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Its stderr so far (startup errors, crashes). */
  readonly stderr: () => string;
  /** SIGTERM, SIGKILL after 5 s; resolves once the process is gone (so its ledger file is free). */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash: no shutdown code runs); resolves once the process is gone. */
  kill(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `coordinator/main.ts` on 127.0.0.1:`port` with its ledger in `dataDir`, serving dist/, with the
 * public defaults (strangers) unless `extra` flags say otherwise, and waits for /healthz. The process is also
 * killed when the test runner exits, whatever happens to the test.
 */
export async function spawnCoordinator(port: number, dataDir: string, extra: string[] = []): Promise<CoordinatorProcess> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(
    join(root, 'node_modules/.bin/deno'),
    ['run', '--allow-all', 'coordinator/main.ts', '--host', '127.0.0.1', '--port', String(port), '--data', dataDir, '--static', 'dist', '--lease-ms', '60000', '--log-level', 'warn', '--audit-token', E2E_AUDIT_TOKEN, ...extra],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    }
    process.off('exit', killOnExit);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Cannot start a coordinator on port ${port}: it exited with ${child.exitCode}: ${stderr}`);
    const up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Cannot start a coordinator on port ${port}: no /healthz within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    process.off('exit', killOnExit);
  };
  return { url, port, dataDir, stderr: () => stderr, stop, kill };
}
