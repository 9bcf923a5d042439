// One mesh session per identity (README, The SDK): tabs of one browser profile share an identity, and the
// coordinator keeps one session per peer id. Two tabs must not fight over it (the old behaviour: ~5 reconnects a
// second on the coordinator, for as long as both stayed open), a repeated connect() closes the earlier session,
// and nothing another page posts can take a session over. Each test starts its own coordinator so that its
// /metrics counts only this test's sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, expect, type Page, test } from '@playwright/test';
import { sessionCounts } from './coordinator-metrics.ts';
import { type CoordinatorProcess, freePort, spawnCoordinator } from './fixtures.ts';

test.describe.configure({ mode: 'serial' });

let own: CoordinatorProcess | undefined;
let dataDir: string | undefined;

test.beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'meshwork-sessions-'));
  own = await spawnCoordinator(await freePort(), dataDir, ['--trust-newcomers', 'on']);
});

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
  await own?.stop();
  own = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A tab of `context` on the harness page, served by the test's coordinator (so the SDK's origin is that one). */
async function harnessTab(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  await page.goto(`${own!.url}/e2e/pages/mesh.html`);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  return page;
}

/** What a tab's connect() gave: 'open', or the error's name and code. Keeps the Mesh and its close errors on window. */
function tryConnect(page: Page, opts: { takeover?: boolean; contribute?: boolean } = {}): Promise<string> {
  return page.evaluate(async ({ takeover, contribute }) => {
    const w = window as unknown as { mesh?: unknown; closes: string[] };
    w.closes ??= [];
    try {
      const mesh = await window.meshTest.sdk.connect(takeover ? { takeover } : {});
      w.mesh = mesh;
      mesh.addEventListener('close', (e) => w.closes.push((e as CustomEvent<{ error?: Error }>).detail?.error?.name ?? 'closed'));
      if (contribute) await mesh.contributor.start({ cpuCap: 1, gpuCap: 1, backgroundTuning: false });
      return mesh.connection;
    } catch (err) {
      return `${(err as Error).name}:${(err as { code?: string }).code}`;
    }
  }, { takeover: opts.takeover ?? false, contribute: opts.contribute ?? false });
}

type TabWindow = Window & { mesh?: { connection: string; peerId: string; contributor: { state: string } }; closes: string[] };
const connection = (page: Page) => page.evaluate(() => (window as unknown as TabWindow).mesh?.connection ?? 'none');
const closes = (page: Page) => page.evaluate(() => (window as unknown as TabWindow).closes);

test('two tabs of one profile: the second is told "open in another tab", takes over on request, and the coordinator sees one session throughout', async ({ browser }) => {
  const base = own!.url;
  const context = await browser.newContext();
  const a = await harnessTab(context);
  const b = await harnessTab(context);
  expect(await tryConnect(a, { contribute: true })).toBe('open');
  // The second tab does not connect: it is told where the session is.
  expect(await tryConnect(b)).toBe('SessionElsewhereError:conflict');
  await expect.poll(async () => (await sessionCounts(base)).sessions).toBe(1);
  const settled = await sessionCounts(base);
  // Over three seconds nothing reconnects: no storm of opens and closes.
  await a.waitForTimeout(3000);
  expect(await sessionCounts(base)).toEqual(settled);
  expect(settled.meshOpens).toBe(1);

  // "Use here": the second tab takes over; the first one's session closes cleanly and says why.
  expect(await tryConnect(b, { takeover: true, contribute: true })).toBe('open');
  await expect.poll(() => connection(a)).toBe('closed');
  expect(await closes(a)).toEqual(['SessionElsewhereError']);
  expect(await closes(b)).toEqual([]);
  await expect.poll(async () => (await sessionCounts(base)).sessions).toBe(1);
  const after = await sessionCounts(base);
  await b.waitForTimeout(3000);
  expect(await sessionCounts(base)).toEqual(after);
  // One more socket: the new holder's. The old one was closed before it connected, never replaced under it.
  expect(after.meshOpens).toBe(2);
  expect(await connection(b)).toBe('open');
  const stats = await (await fetch(`${base}/api/stats`)).json() as { contributors: number; active: number };
  expect(stats).toMatchObject({ contributors: 1, active: 1 });
});

test('messages forged on the tabs\' channel, from this origin or another, take nothing over', async ({ browser }) => {
  const base = own!.url;
  const context = await browser.newContext();
  const a = await harnessTab(context);
  expect(await tryConnect(a, { contribute: true })).toBe('open');
  const peerId = await a.evaluate(() => (window as unknown as TabWindow).mesh!.peerId);
  await expect.poll(async () => (await sessionCounts(base)).sessions).toBe(1);
  const before = await sessionCounts(base);

  // Same origin, another tab: well-formed and malformed messages on the session's channel.
  const b = await harnessTab(context);
  await b.evaluate((id) => {
    const channel = new BroadcastChannel('meshwork.session:default');
    const tab = 'f'.repeat(32);
    for (const m of [
      { v: 1, type: 'takeover', slot: 'default', tab },
      { v: 1, type: 'released', slot: 'default', tab },
      { v: 1, type: 'takeover', slot: 'default', tab, peerId: id },
      { type: 'close' },
      'takeover',
      null,
      { v: 1, type: 'takeover', slot: 'default', tab: '<script>' },
    ]) channel.postMessage(m);
    channel.close();
  }, peerId);
  // Another origin (localhost is another origin than 127.0.0.1) posting on a channel of the same name.
  const foreign = await context.newPage();
  await foreign.goto(`${base.replace('127.0.0.1', 'localhost')}/e2e/pages/mesh.html`);
  await foreign.evaluate(() => {
    const channel = new BroadcastChannel('meshwork.session:default');
    channel.postMessage({ v: 1, type: 'takeover', slot: 'default', tab: 'e'.repeat(32) });
    channel.close();
  });
  await a.waitForTimeout(2000);
  expect(await connection(a)).toBe('open');
  expect(await a.evaluate(() => (window as unknown as TabWindow).mesh!.contributor.state)).toBe('active');
  expect(await closes(a)).toEqual([]);
  expect(await sessionCounts(base)).toEqual(before);
});

test('a repeated connect() in one page closes the earlier session, and a failed one leaves nothing open', async ({ browser }) => {
  const base = own!.url;
  const context = await browser.newContext();
  const page = await harnessTab(context);
  const result = await page.evaluate(async () => {
    const { sdk } = window.meshTest;
    const first = await sdk.connect();
    // A retry that fails after the coordinator answered (it has no relay to offer).
    const failed = await sdk.connect({ relayOnly: true }).then(() => 'connected', (e: Error) => e.name);
    const second = await sdk.connect();
    const third = await sdk.connect();
    (window as unknown as { mesh: unknown }).mesh = third;
    return { failed, states: [first.connection, second.connection, third.connection], same: first.peerId === third.peerId };
  });
  expect(result).toEqual({ failed: 'TypeError', states: ['closed', 'closed', 'open'], same: true });
  await expect.poll(async () => (await sessionCounts(base)).sessions).toBe(1);
  const settled = await sessionCounts(base);
  await page.waitForTimeout(3000);
  expect(await sessionCounts(base)).toEqual(settled);
  expect(await connection(page)).toBe('open');
});

test('the PWA in two tabs: the second says Meshwork is open in another tab, and "Use here" moves the session', async ({ browser }) => {
  const base = own!.url;
  const context = await browser.newContext();
  const first = await context.newPage();
  await first.goto(`${base}/#contribute`);
  await expect(first.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  const second = await context.newPage();
  await second.goto(`${base}/#contribute`);
  await expect(second.getByTestId('open-elsewhere')).toContainText('Meshwork is open in another tab');
  await expect(second.getByTestId('connection')).toHaveAttribute('data-state', 'elsewhere');
  await second.waitForTimeout(2000);
  expect((await sessionCounts(base)).sessions).toBe(1);
  expect((await sessionCounts(base)).meshOpens).toBe(1);

  await second.getByTestId('use-here').click();
  await expect(second.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(first.getByTestId('open-elsewhere')).toBeVisible();
  await expect(first.getByTestId('connection')).toHaveAttribute('data-state', 'elsewhere');
  await expect.poll(async () => (await sessionCounts(base)).sessions).toBe(1);
  const settled = await sessionCounts(base);
  await first.waitForTimeout(3000);
  expect(await sessionCounts(base)).toEqual(settled);
  expect(settled.meshOpens).toBe(2);

  // The tab holding the session closes: the other one takes it back by itself.
  await second.close();
  await expect(first.getByTestId('connection')).toHaveAttribute('data-state', 'connected');
  await expect(first.getByTestId('open-elsewhere')).toHaveCount(0);
  await expect.poll(async () => (await sessionCounts(base)).sessions).toBe(1);
});
