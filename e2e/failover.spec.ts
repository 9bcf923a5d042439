// Coordinator failover in the SDK: pages given `coordinators: [a, b]` move to b when a is killed (SIGKILL):
// the mesh socket authenticates again at b with the same peer id, a 'moved' event says from a to b, the
// signalling socket follows (a page that only knows b dials the contributor by id through b), and a data
// channel opened before the kill stays open across the move (it is peer to peer) and carries the next job.
// The two coordinators are independent instances with their own ledgers, so on b each peer starts over with
// its starter grant. Also: the embed's `data-coordinators` skips a coordinator that is down at start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
// Brings in the `window.meshwork` declaration (type only; the host page loads the real /embed.js).
import type {} from '../src/sdk/embed.ts';
import { connectPeer, type CoordinatorProcess, freePort, ledger, meshStats, openPeer, type PeerWindow, runExactMatmul, spawnCoordinator } from './fixtures.ts';

const MICRO = 1_000_000;
const STARTER = 1000 * MICRO;

test.describe.configure({ mode: 'serial' });

/** Coordinators and data dirs the tests start, so afterAll can stop and remove them whatever happened. */
const started: CoordinatorProcess[] = [];
const dirs: string[] = [];

async function coordinator(): Promise<CoordinatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-failover-'));
  dirs.push(dir);
  // Ports one after the other: the first process holds its port before the next one is picked.
  const proc = await spawnCoordinator(await freePort(), dir, ['--trust-newcomers', 'on']);
  started.push(proc);
  return proc;
}

test.afterEach(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
});

test.afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const state = (page: Page) =>
  page.evaluate(() => {
    const { peer } = window as unknown as PeerWindow;
    return { peerId: peer.mesh.peerId, coordinator: peer.mesh.coordinator, moves: peer.moves, closes: peer.closes };
  });

/** RTCPeerConnections the page ever made, and those still live with their ICE state. */
const connections = (page: Page) =>
  page.evaluate(async () => ({
    made: (await window.meshTest.iceReport(true)).length,
    live: (await window.meshTest.iceReport()).map((r) => r.iceState),
  }));

test('when coordinator a is killed, pages listing [a, b] move to b: same id, signalling follows, open links survive', async ({ browser }) => {
  const a = await coordinator();
  const b = await coordinator();
  // Pages come from the suite's coordinator and talk to a and b cross-origin (they send CORS headers).
  const contributor = await openPeer(browser);
  const contributorId = await connectPeer(contributor, { coordinators: [a.url, b.url], contribute: true });
  const client = await openPeer(browser);
  const clientId = await connectPeer(client, { coordinators: [a.url, b.url] });
  expect(await state(client)).toEqual({ peerId: clientId, coordinator: a.url, moves: [], closes: [] });
  await expect.poll(async () => (await meshStats(client.request, a.url)).contributors).toBe(1);

  // A job over a opens the client's data channel to the contributor.
  const before = await runExactMatmul(client, 64, 64, 64, 32);
  expect(before.mismatches).toBe(0);
  const linked = await connections(client);
  // One link, or two when a first attempt failed on a loaded machine and was made again; one of them is open.
  expect(linked.made).toBeGreaterThanOrEqual(1);
  expect(linked.made).toBeLessThanOrEqual(2);
  expect(linked.live).toEqual([expect.stringMatching(/^(connected|completed)$/)]);

  await a.kill();

  // Both sessions fail over on their own: one 'moved' from a to b, same peer id, never closed.
  for (const [page, id] of [[contributor, contributorId], [client, clientId]] as const) {
    await expect.poll(() => state(page), { timeout: 30_000 }).toEqual({ peerId: id, coordinator: b.url, moves: [{ from: a.url, to: b.url }], closes: [] });
  }
  // b authenticated them afresh: its own ledger knows each by the same id, with the starter grant; the
  // contributor registered again there.
  await expect.poll(async () => await meshStats(client.request, b.url), { timeout: 30_000 }).toMatchObject({ contributors: 1, peers: 2 });
  const books = await ledger(client, b.url);
  expect(books.accounts[`peer:${contributorId}`]).toBe(STARTER);
  expect(books.accounts[`peer:${clientId}`]).toBe(STARTER);
  expect(await client.evaluate(() => (window as unknown as PeerWindow).peer.mesh.balance())).toBe(STARTER);

  // The data channel opened through a is still up, and the next job over b runs on it: no new connection.
  expect((await connections(client)).live).toEqual([expect.stringMatching(/^(connected|completed)$/)]);
  const after = await runExactMatmul(client, 64, 64, 64, 32);
  expect(after.mismatches).toBe(0);
  expect(await connections(client)).toEqual({ made: linked.made, live: [expect.stringMatching(/^(connected|completed)$/)] });

  // A page that only knows b reaches the contributor by peer id: its signalling is at b now.
  const newcomer = await openPeer(browser);
  await connectPeer(newcomer, { coordinator: b.url });
  const third = await runExactMatmul(newcomer, 64, 64, 64, 32);
  expect(third.mismatches).toBe(0);
  expect((await connections(newcomer)).live).toEqual([expect.stringMatching(/^(connected|completed)$/)]);
  const done = await contributor.evaluate(() => (window as unknown as PeerWindow).peer.shards.filter((s) => s.phase === 'done').map((s) => s.jobId));
  expect(new Set(done)).toEqual(new Set([before.jobId, after.jobId, third.jobId]));
  expect((await state(contributor)).closes).toEqual([]);
});

test('the embed with data-coordinators lists both and connects to the second when the first is down at start', async ({ browser, baseURL }) => {
  const suite = new URL(baseURL ?? 'http://127.0.0.1:8787').origin;
  const down = `http://127.0.0.1:${await freePort()}`; // nothing listens there
  const context = await browser.newContext();
  // A page fulfilled by a route has no server address, so Chromium's Local Network Access would count it as
  // public and block its requests to 127.0.0.1 (see embed.spec.ts); the grant restores what the real page has.
  await context.grantPermissions(['local-network-access'], { origin: suite });
  await context.route('**/e2e/pages/embed-host.html', async (route) => {
    const res = await route.fetch();
    const html = (await res.text()).replace('src="/embed.js"', `src="/embed.js" data-coordinators="${down}, ${suite}"`);
    await route.fulfill({ response: res, body: html });
  });
  const page = await context.newPage();
  const sockets: string[] = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  await page.goto('/e2e/pages/embed-host.html');
  expect(await page.evaluate(() => window.meshwork?.config)).toEqual({ coordinator: down, coordinators: [down, suite], cpuCap: 0.2, gpuCap: 0.3, askPrice: 2 });

  await page.getByTestId('consent-allow').click();
  await expect.poll(() => page.evaluate(() => (window as unknown as { embedEvents: { type: string; mesh?: boolean }[] }).embedEvents)).toEqual([
    { type: 'meshwork:ready', consent: 'allow', mesh: true },
  ]);
  expect(await page.evaluate(() => [window.meshwork?.mesh?.coordinator, window.meshwork?.mesh?.contributor.state])).toEqual([suite, 'active']);
  // It tried the first coordinator's mesh socket, then used the second for the mesh API and signalling.
  const hosts = sockets.map((u) => `${new URL(u).host}${new URL(u).pathname}`);
  expect(hosts[0]).toBe(`${new URL(down).host}/mesh`);
  expect(hosts).toContain(`${new URL(suite).host}/mesh`);
  expect(hosts.some((h) => h.startsWith(`${new URL(suite).host}/peerjs`))).toBe(true);
  await page.evaluate(() => window.meshwork?.stop());
});
