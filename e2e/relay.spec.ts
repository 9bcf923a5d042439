// Peers that must not (or cannot) connect directly go through a TURN relay: a real coturn on 127.0.0.1 with a
// shared secret, a coordinator that mints each peer's credentials (`--turn-url`, `--turn-secret`), and two
// Chromium peers with relay-only ICE. The job's data travels through coturn (getStats: relay/relay on both
// ends, coturn's log shows both peers' allocations). When the relay dies and comes back, the dialing side
// restarts ICE once and the same link carries the next job; when it stays dead, the link is closed after the
// ICE deadline, and a page that authenticated again dials with fresh credentials. Without `relayOnly`, peers
// that can reach each other still connect directly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { connectPeer, type CoordinatorProcess, freePort, openPeer, type PeerWindow, runExactMatmul, spawnCoordinator } from './fixtures.ts';
import { startTurnServer, type TurnServer } from './turn-server.ts';
import type { IceReport } from './pages/mesh.ts';

test.describe.configure({ mode: 'serial' });

let turn: TurnServer | undefined;
let own: CoordinatorProcess | undefined;
let dataDir: string | undefined;
let client: Page;
let contributor: Page;
let ids: { client: string; contributor: string };

test.afterAll(async ({ browser }) => {
  await Promise.all(browser.contexts().map((c) => c.close()));
  await own?.stop();
  await turn?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The coordinator's flags: a private mesh with this relay. */
const FLAGS = (relay: TurnServer) => ['--trust-newcomers', 'on', '--turn-url', relay.url, '--turn-secret', relay.secret];

const iceReport = (page: Page, all = false): Promise<IceReport[]> => page.evaluate((all) => window.meshTest.iceReport(all), all);

test('two relay-only peers run a job through coturn: the selected candidate pair is relay on both ends', async ({ browser }) => {
  turn = await startTurnServer(await freePort());
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'meshwork-relay-'));
  own = await spawnCoordinator(port, dataDir, FLAGS(turn));
  const stats = async () => (await (await fetch(`${own!.url}/api/stats`)).json()) as { contributors: number };
  // The public config has no relay (and never the secret): credentials come in each peer's welcome.
  const config = await (await fetch(`${own.url}/api/config`)).text();
  expect(JSON.parse(config).iceServers).toEqual([]);
  expect(config).not.toContain(turn.secret);

  contributor = await openPeer(browser);
  client = await openPeer(browser);
  ids = {
    contributor: await connectPeer(contributor, { coordinator: own.url, contribute: true, relayOnly: true }),
    client: await connectPeer(client, { coordinator: own.url, relayOnly: true }),
  };
  await expect.poll(async () => (await stats()).contributors).toBe(1);

  const run = await runExactMatmul(client, 64, 48, 40, 32); // 2 x 2 tiles
  expect(run.length).toBe(64 * 40);
  expect(run.mismatches).toBe(0);

  const reports = { client: await iceReport(client), contributor: await iceReport(contributor) };
  console.log(`relay e2e getStats: ${JSON.stringify(reports)}`);
  for (const [who, list] of Object.entries(reports)) {
    expect(list, who).toHaveLength(1);
    const r = list[0]!;
    expect(['connected', 'completed'], who).toContain(r.iceState);
    expect(r.policy, who).toBe('relay');
    expect(r.servers, who).toContain(turn.url);
    // Both candidates of the selected pair are relayed addresses on coturn (127.0.0.1, its relay port range).
    expect(r.local, who).toMatchObject({ candidateType: 'relay', relayProtocol: 'udp', address: '127.0.0.1' });
    expect(r.remote, who).toMatchObject({ candidateType: 'relay', address: '127.0.0.1' });
    expect(r.remote!.port, who).toBeGreaterThanOrEqual(49152);
    expect(r.remote!.port, who).toBeLessThanOrEqual(49999);
    expect((r.bytesSent ?? 0) + (r.bytesReceived ?? 0), who).toBeGreaterThan(64 * 48 * 4);
  }
  // coturn allocated for both peers with the usernames the coordinator minted (`<expiry>:<peerId>`).
  const log = turn.log();
  for (const id of Object.values(ids)) expect(log).toMatch(new RegExp(`user <\\d+:${id}>: incoming packet ALLOCATE processed, success`));
});

test('when the relay dies and comes back, the dialer restarts ICE once and the same link carries the next job', async () => {
  if (!turn || !own) throw new Error('Cannot run this test alone: it needs the relay and pages the first test of this serial file set up');
  const { port, secret } = turn!;
  await turn!.stop();
  // Both ends lose the path: their allocations are gone with the relay.
  for (const page of [client, contributor]) {
    await expect.poll(async () => (await iceReport(page))[0]?.iceState, { timeout: 30_000 }).toMatch(/disconnected|failed/);
  }
  turn = await startTurnServer(port, secret);
  // ICE fails for good on the old allocations; the client (the dialer) restarts once with fresh allocations.
  await expect.poll(async () => (await iceReport(client))[0], { timeout: 60_000, intervals: [500] })
    .toMatchObject({ restarts: 1, iceState: expect.stringMatching(/connected|completed/) })
    .catch(async (err) => {
      console.log(`relay e2e: client ${JSON.stringify(await iceReport(client, true))} contributor ${JSON.stringify(await iceReport(contributor, true))}`);
      throw err;
    });
  await expect.poll(async () => (await iceReport(contributor))[0]?.iceState, { timeout: 15_000 }).toMatch(/connected|completed/);
  // The new pair is selected on both ends (getStats may lag the state change by a moment).
  for (const page of [client, contributor]) {
    await expect.poll(async () => (await iceReport(page))[0]?.local?.candidateType, { timeout: 10_000 }).toBe('relay');
  }
  const after = { client: await iceReport(client), contributor: await iceReport(contributor) };
  console.log(`relay e2e after ICE restart: ${JSON.stringify(after)}`);
  expect(after.contributor[0]!.restarts).toBe(0);
  for (const list of Object.values(after)) expect(list[0]!.remote?.candidateType).toBe('relay');

  const run = await runExactMatmul(client, 64, 48, 40, 32);
  expect(run.mismatches).toBe(0);
  // Still one connection each: the job used the restarted link, not a new one.
  expect(await iceReport(client)).toHaveLength(1);
  expect(await iceReport(contributor)).toHaveLength(1);
  for (const page of [client, contributor]) expect(await page.evaluate(() => (window as unknown as PeerWindow).peer.closes)).toEqual([]);
});

test('when the relay stays dead, the link is closed after the ICE deadline; after a re-authentication a new link uses fresh credentials', async () => {
  if (!turn || !own) throw new Error('Cannot run this test alone: it needs the relay and pages the first test of this serial file set up');
  const { port, secret } = turn!;
  const { ICE_DEAD_MS } = await client.evaluate(() => ({ ICE_DEAD_MS: window.meshTest.iceDeadMs }));
  await turn!.stop();
  const started = Date.now();
  // Both ends give up on the link (the dialer after one more restart that cannot succeed), and only on it:
  // the mesh sessions stay up.
  for (const page of [client, contributor]) {
    await expect.poll(async () => (await iceReport(page)).length, { timeout: ICE_DEAD_MS + 20_000, intervals: [1000] }).toBe(0);
  }
  const waited = Date.now() - started;
  const dead = { client: await iceReport(client, true), contributor: await iceReport(contributor, true) };
  console.log(`relay e2e after ${waited} ms without a relay: ${JSON.stringify(dead)}`);
  expect(waited).toBeGreaterThanOrEqual(ICE_DEAD_MS);
  expect(dead.client.at(-1)!.restarts).toBe(2);
  for (const list of Object.values(dead)) expect(list.at(-1)!.history.at(-1)).toMatch(/close\(\)$/);
  for (const page of [client, contributor]) expect(await page.evaluate(() => (window as unknown as PeerWindow).peer.closes)).toEqual([]);

  turn = await startTurnServer(port, secret);
  // Restart the coordinator (same port and ledger): both pages authenticate again and get new credentials.
  const firstUser = dead.client.at(-1)!.turnUsers[0]!;
  const auths = await Promise.all([client, contributor].map((p) => p.evaluate(() => (window as unknown as PeerWindow).peer.balances.length)));
  await own!.stop();
  own = await spawnCoordinator(own!.port, dataDir!, FLAGS(turn));
  for (const [i, page] of [client, contributor].entries()) {
    await expect.poll(() => page.evaluate(() => (window as unknown as PeerWindow).peer.balances.length), { timeout: 30_000 }).toBeGreaterThan(auths[i]!);
  }
  await expect.poll(async () => (await (await fetch(`${own!.url}/api/stats`)).json()).contributors, { timeout: 30_000 }).toBe(1);

  const run = await runExactMatmul(client, 64, 48, 40, 32);
  expect(run.mismatches).toBe(0);
  const fresh = (await iceReport(client))[0]!;
  console.log(`relay e2e new link after re-authentication: ${JSON.stringify(fresh)}`);
  expect(fresh).toMatchObject({ restarts: 0, local: { candidateType: 'relay' }, remote: { candidateType: 'relay' } });
  const [expiry, id] = fresh.turnUsers[0]!.split(':');
  expect(id).toBe(ids.client);
  expect(Number(expiry)).toBeGreaterThan(Number(firstUser.split(':')[0]));
});

test('with the relay offered but not forced, peers that can reach each other connect directly', async ({ browser }) => {
  if (!turn || !own) throw new Error('Cannot run this test alone: it needs the relay and pages the first test of this serial file set up');
  await Promise.all(browser.contexts().map((c) => c.close()));
  await expect.poll(async () => (await (await fetch(`${own!.url}/api/stats`)).json()).contributors, { timeout: 15_000 }).toBe(0);
  contributor = await openPeer(browser);
  client = await openPeer(browser);
  await connectPeer(contributor, { coordinator: own!.url, contribute: true });
  await connectPeer(client, { coordinator: own!.url });
  await expect.poll(async () => (await (await fetch(`${own!.url}/api/stats`)).json()).contributors).toBe(1);
  const run = await runExactMatmul(client, 64, 48, 40, 32);
  expect(run.mismatches).toBe(0);
  for (const page of [client, contributor]) {
    const [r, ...more] = await iceReport(page);
    expect(more).toHaveLength(0);
    // The relay was offered (ICE gathered its candidates too), and the direct pair won.
    expect(r).toMatchObject({ policy: 'all', servers: [turn!.url], local: { candidateType: 'host' }, remote: { candidateType: 'host' } });
  }
});
