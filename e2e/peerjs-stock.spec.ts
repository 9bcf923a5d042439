// The stock `peerjs` npm client, unmodified, against our coordinator's PeerJS-protocol signalling:
// two anonymous pages get ids from the id endpoint and open a data channel through it.
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PEERJS = readFileSync(fileURLToPath(new URL('../node_modules/peerjs/dist/peerjs.min.js', import.meta.url)), 'utf8');

async function stockPage(page: Page): Promise<void> {
  // Serve the library's own distributed file under a test-only path; nothing in it is changed.
  await page.route('**/__stock/peerjs.min.js', (route) => route.fulfill({ body: PEERJS, contentType: 'text/javascript' }));
  await page.goto('/healthz');
  await page.addScriptTag({ url: '/__stock/peerjs.min.js' });
}

test('two stock peerjs clients get ids and open a data channel through the coordinator', async ({ browser }) => {
  const pages = await Promise.all([0, 1].map(async () => (await browser.newContext()).newPage()));
  await Promise.all(pages.map(stockPage));
  const opts = { host: '127.0.0.1', port: Number(new URL(pages[0]!.url()).port), path: '/peerjs', config: { iceServers: [] }, debug: 0 };

  const ids = await Promise.all(pages.map((p) => p.evaluate((o) => new Promise<string>((resolve, reject) => {
    const peer = new (window as unknown as { Peer: new (o: unknown) => { on(e: string, f: (x: unknown) => void): void } }).Peer(o);
    (window as unknown as { peer: unknown }).peer = peer;
    peer.on('open', (id) => resolve(id as string));
    peer.on('error', (e) => reject(new Error(String((e as Error).message ?? e))));
  }), opts)));
  expect(ids[0]).not.toBe(ids[1]);
  expect(ids[0]).not.toMatch(/^mw[0-9a-f]{40}$/); // anonymous ids never look like keyed ones

  const received = pages[1]!.evaluate(() => new Promise<string>((resolve) => {
    const peer = (window as unknown as { peer: { on(e: string, f: (c: { on(e: string, f: (d: unknown) => void): void }) => void): void } }).peer;
    peer.on('connection', (conn) => conn.on('data', (d) => resolve(String(d))));
  }));
  await pages[0]!.evaluate((dst) => new Promise<void>((resolve, reject) => {
    const peer = (window as unknown as { peer: { connect(id: string): { on(e: string, f: (x?: unknown) => void): void; send(d: string): void } } }).peer;
    const conn = peer.connect(dst);
    conn.on('open', () => { conn.send('hello through meshwork signalling'); resolve(); });
    conn.on('error', (e) => reject(new Error(String(e))));
  }), ids[1]!);
  expect(await received).toBe('hello through meshwork signalling');
});

test('a stock client may not claim a keyed id without proof of the key', async ({ page }) => {
  await stockPage(page);
  const port = Number(new URL(page.url()).port);
  const error = await page.evaluate((port) => new Promise<string>((resolve) => {
    const Peer = (window as unknown as { Peer: new (id: string, o: unknown) => { on(e: string, f: (x: unknown) => void): void } }).Peer;
    const peer = new Peer('mw' + '0'.repeat(40), { host: '127.0.0.1', port, path: '/peerjs', config: { iceServers: [] }, debug: 0 });
    peer.on('open', () => resolve('opened'));
    peer.on('error', (e) => resolve(String((e as { type?: string }).type ?? e)));
  }), port);
  expect(error).not.toBe('opened');
});
