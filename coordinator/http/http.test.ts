import { describe, it } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/protocol/version.ts';
import assert from 'node:assert/strict';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { safeSegments } from './static.ts';
import { cpuCaps } from '../testing/fixtures.ts';
import { askSummary } from './api.ts';

async function withDist(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: 'meshwork-dist-' });
  try {
    await Deno.mkdir(`${dir}/ort`);
    await Deno.mkdir(`${dir}/assets`);
    const files: Record<string, string> = {
      'index.html': '<!doctype html><title>Meshwork</title>',
      'sdk.js': 'export const x = 1;',
      'ort/ort-wasm-simd-threaded.mjs': 'export default 1;',
      'ort/ort-wasm-simd-threaded.wasm': '\0asm',
      'models/index.json': '[]',
      'models/m.onnx': 'onnx',
      'manifest.webmanifest': '{}',
      'icon.svg': '<svg/>',
      'assets/app-1234.css': 'body{}',
    };
    await Deno.mkdir(`${dir}/models`);
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    await Deno.writeTextFile(`${dir}/../meshwork-secret-${dir.split('/').pop()}`, 'secret');
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(`${dir}/../meshwork-secret-${dir.split('/').pop()}`).catch(() => undefined);
  }
}

/** Sends a raw HTTP/1.1 request line (fetch would normalise `..` away before it leaves); returns the response text. */
async function rawGet(port: number, path: string): Promise<string> {
  const conn = await Deno.connect({ hostname: '127.0.0.1', port });
  await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
  return await new Response(conn.readable).text();
}

describe('HTTP: static files', () => {
  it('serves dist/ with the right content types and isolation headers', async () => {
    await withDist(async (dir) => {
      const c = await startTestCoordinator({ staticDir: dir });
      try {
        const expect: [string, string][] = [
          ['/', 'text/html; charset=utf-8'],
          ['/sdk.js', 'text/javascript; charset=utf-8'],
          ['/ort/ort-wasm-simd-threaded.mjs', 'text/javascript; charset=utf-8'],
          ['/ort/ort-wasm-simd-threaded.wasm', 'application/wasm'],
          ['/models/index.json', 'application/json; charset=utf-8'],
          ['/models/m.onnx', 'application/octet-stream'],
          ['/manifest.webmanifest', 'application/manifest+json; charset=utf-8'],
          ['/icon.svg', 'image/svg+xml'],
          ['/assets/app-1234.css', 'text/css; charset=utf-8'],
        ];
        for (const [path, type] of expect) {
          const res = await fetch(c.url + path);
          await res.body?.cancel();
          assert.equal(res.status, 200, path);
          assert.equal(res.headers.get('content-type'), type, path);
          assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
          assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
          assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
          assert.equal(res.headers.get('access-control-allow-origin'), '*');
        }
        const cached = await fetch(`${c.url}/assets/app-1234.css`);
        await cached.body?.cancel();
        assert.match(cached.headers.get('cache-control') ?? '', /immutable/);
        const etag = (await fetch(`${c.url}/sdk.js`).then(async (r) => (await r.body?.cancel(), r.headers.get('etag'))))!;
        const notModified = await fetch(`${c.url}/sdk.js`, { headers: { 'if-none-match': etag } });
        assert.equal(notModified.status, 304);
      } finally {
        await c.close();
      }
    });
  });

  it('falls back to index.html for app routes but 404s missing files', async () => {
    await withDist(async (dir) => {
      const c = await startTestCoordinator({ staticDir: dir });
      try {
        const route = await fetch(`${c.url}/contribute/settings`);
        assert.equal(await route.text(), '<!doctype html><title>Meshwork</title>');
        const missing = await fetch(`${c.url}/missing.js`);
        await missing.body?.cancel();
        assert.equal(missing.status, 404);
      } finally {
        await c.close();
      }
    });
  });

  it('refuses to leave the static folder, raw or encoded', async () => {
    await withDist(async (dir) => {
      const c = await startTestCoordinator({ staticDir: dir });
      try {
        const secret = `meshwork-secret-${dir.split('/').pop()}`;
        // A literal `..` is resolved by URL parsing to a path inside the root (here: the SPA fallback).
        for (const path of [`/../${secret}`, `/ort/../../${secret}`, `/ort/%2e%2e/%2e%2e/${secret}`]) {
          const raw = await rawGet(c.port, path);
          assert.doesNotMatch(raw, /\r\n\r\nsecret$/, path);
        }
        assert.match(await rawGet(c.port, `/..%2f${secret}`), /^HTTP\/1\.1 400/);
        assert.match(await rawGet(c.port, `/ort/..%5c..%5c${secret}`), /^HTTP\/1\.1 400/);
        const res = await fetch(`${c.url}/..%2f${secret}`);
        assert.notEqual(await res.text(), 'secret');
      } finally {
        await c.close();
      }
    });
  });

  it('safeSegments() rejects dot-dot, NUL, backslashes and dot-files', () => {
    assert.deepEqual(safeSegments('/a/./b/'), ['a', 'b']);
    for (const bad of ['/../x', '/a/..%2F..%2Fx', '/a%00', '/a\\b', '/.env', '/%E0%A4%A']) assert.equal(safeSegments(bad), null, bad);
    assert.deepEqual(safeSegments('/.well-known/x'), ['.well-known', 'x']);
  });
});

describe('HTTP: API', () => {
  it('answers health, config, stats, ledger totals, the audit and metrics, and publishes no account or job', async () => {
    const c = await startTestCoordinator({ iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }], leaseMs: 9000, auditToken: 'operator-token-0123456789' });
    try {
      const get = async (path: string) => {
        const res = await fetch(c.url + path);
        return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text() };
      };
      assert.deepEqual((await get('/healthz')).body, { ok: true });
      assert.deepEqual((await get('/api/config')).body, {
        version: PROTOCOL_VERSION,
        peerjs: { path: '/peerjs', key: 'peerjs' },
        iceServers: [{ urls: 'turn:127.0.0.1:3478', username: 'u', credential: 'p' }],
        feeRate: 0.05,
        leaseMs: 9000,
      });
      const peer = await MeshTestClient.connect(c.url);
      assert.equal((await get(`/api/balance/${peer.peerId}`)).status, 404, 'balances are their owners\' business (mesh API)');
      assert.deepEqual((await get('/api/ledger')).body, { minted: 1e9, accounts: 1, fees: 0 });
      assert.equal((await get('/api/audit')).status, 401);
      const audit = await fetch(`${c.url}/api/audit`, { headers: { authorization: 'Bearer operator-token-0123456789' } });
      assert.deepEqual(await audit.json(), { minted: 1e9, total: 1e9, accounts: { [`grant:${peer.peerId}`]: 1e9 } });
      assert.deepEqual((await get('/api/stats')).body, { contributors: 0, active: 0, jobs: 0, peers: 0 });
      assert.deepEqual((await get('/api/asks')).body, { active: 0, lowest: null, median: null });
      assert.equal((await get('/api/jobs/jnope')).status, 404);
      assert.equal((await get('/api/nothing')).status, 404);
      const metrics = (await get('/metrics')).body as string;
      assert.match(metrics, /meshwork_connections_total\{kind="mesh"\} 1/);
      assert.match(metrics, /meshwork_ledger_ops_total\{kind="ensure-account"\} 1/);
      assert.match(metrics, /# TYPE meshwork_peers gauge\nmeshwork_peers 0/);
      assert.match(metrics, /meshwork_contributors 0/);
      const preflight = await fetch(`${c.url}/api/config`, { method: 'OPTIONS' });
      await preflight.body?.cancel();
      assert.equal(preflight.status, 204);
      await peer.request({ type: 'register', caps: cpuCaps(), askPrice: 3, maxConcurrent: 1 });
      assert.deepEqual((await get('/api/asks')).body, { active: 1, lowest: 3, median: 3 });
      assert.equal((await get('/api/asks/x')).status, 404);
      await peer.close();
    } finally {
      await c.close();
    }
  });
});

describe('HTTP: asks', () => {
  it('askSummary() gives the lowest and median ask of active contributors only', () => {
    const rows = [5, 1, 9, 3].map((askPrice) => ({ askPrice, state: 'active' })).concat([{ askPrice: 0, state: 'paused' }]);
    assert.deepEqual(askSummary(rows), { active: 4, lowest: 1, median: 3 });
    assert.deepEqual(askSummary([]), { active: 0, lowest: null, median: null });
  });
});
