// Two coordinator instances sharing a NATS bus, and two stock `peerjs` clients, one on each: the OFFER,
// ANSWER and CANDIDATE frames cross instances over the bus, and the clients open a data channel.
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { startNats, startPostgres } from './cluster-servers.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CoordinatorProcess, freePort, spawnCoordinator } from './fixtures.ts';

const PEERJS = readFileSync(fileURLToPath(new URL('../node_modules/peerjs/dist/peerjs.min.js', import.meta.url)), 'utf8');
async function stockPage(page: Page, base: string): Promise<void> {
  await page.route('**/__stock/peerjs.min.js', (route) => route.fulfill({ body: PEERJS, contentType: 'text/javascript' }));
  await page.goto(`${base}/healthz`);
  await page.addScriptTag({ url: '/__stock/peerjs.min.js' });
}

test('stock peerjs clients on two coordinator instances open a data channel through the NATS bus', async ({ browser }) => {
  const nats = await startNats();
  const pg = await startPostgres();
  const coordinators: CoordinatorProcess[] = [];
  const dirs: string[] = [];
  try {
    for (const name of ['e2e-a', 'e2e-b']) {
      const dir = mkdtempSync(join(tmpdir(), `meshwork-${name}-`));
      dirs.push(dir);
      coordinators.push(await spawnCoordinator(await freePort(), dir, ['--bus', nats.url, '--store', pg.url, '--instance-id', name]));
    }
    const pages = await Promise.all(coordinators.map(async (c) => {
      const context = await browser.newContext();
      await context.grantPermissions(['camera', 'microphone']);
      const page = await context.newPage();
      await stockPage(page, c.url);
      return page;
    }));

    const ids = await Promise.all(pages.map((p, i) => p.evaluate((o) => new Promise<string>((resolve, reject) => {
      const peer = new (window as unknown as { Peer: new (o: unknown) => { on(e: string, f: (x: unknown) => void): void } }).Peer(o);
      (window as unknown as { peer: unknown }).peer = peer;
      peer.on('open', (id) => resolve(id as string));
      peer.on('error', (e) => reject(new Error(String((e as Error).message ?? e))));
    }), { host: '127.0.0.1', port: coordinators[i]!.port, path: '/peerjs', config: { iceServers: [] }, debug: 0 })));
    expect(ids[0]).not.toBe(ids[1]);

    const received = pages[1]!.evaluate(() => new Promise<string>((resolve) => {
      const peer = (window as unknown as { peer: { on(e: string, f: (c: { on(e: string, f: (d: unknown) => void): void; send(d: string): void }) => void): void } }).peer;
      peer.on('connection', (conn) => conn.on('data', (d) => {
        conn.send(`echo: ${String(d)}`);
        resolve(String(d));
      }));
    }));
    const echoed = await pages[0]!.evaluate((dst) => new Promise<string>((resolve, reject) => {
      const peer = (window as unknown as { peer: { connect(id: string): { on(e: string, f: (x?: unknown) => void): void; send(d: string): void } } }).peer;
      const conn = peer.connect(dst);
      conn.on('open', () => conn.send('hello across instances'));
      conn.on('data', (d) => resolve(String(d)));
      conn.on('error', (e) => reject(new Error(String(e))));
    }), ids[1]!);
    expect(await received).toBe('hello across instances');
    expect(echoed).toBe('echo: hello across instances');

    // Both instances relayed: A forwarded B-bound frames, B forwarded A-bound ones.
    for (const c of coordinators) {
      const metrics = await (await fetch(`${c.url}/metrics`)).text();
      expect(metrics).toMatch(/meshwork_cluster_frames_total\{kind="forwarded"\} [1-9]/);
    }
  } finally {
    for (const c of coordinators) await c.stop();
    await nats.stop();
    await pg.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
