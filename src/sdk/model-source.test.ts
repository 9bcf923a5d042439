/** ModelSource against a real HTTP server on an ephemeral loopback port. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../core/hash.ts';
import { ModelSource } from './model-source.ts';

/** What the server serves at /m/<name>, and what it was asked. */
const files = new Map<string, { bytes: Uint8Array<ArrayBuffer>; etag?: string; lastModified?: string }>();
const asked: string[] = [];
let server: Deno.HttpServer<Deno.NetAddr>;
let base = '';

function serve(name: string, bytes: number[], validators: { etag?: string; lastModified?: string } = {}): string {
  files.set(name, { bytes: new Uint8Array(bytes), ...validators });
  return `${base}/m/${name}`;
}

const requests = (name: string) => asked.filter((r) => r.endsWith(`/m/${name}`)).map((r) => r.split(' ')[0]);

describe('ModelSource', () => {
  before(() => {
    server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, (req) => {
      const path = new URL(req.url).pathname;
      asked.push(`${req.method} ${path}`);
      const file = files.get(path.slice('/m/'.length));
      if (!file) return new Response('missing', { status: 404 });
      const headers: Record<string, string> = { 'content-length': String(file.bytes.byteLength) };
      if (file.etag) headers.etag = file.etag;
      if (file.lastModified) headers['last-modified'] = file.lastModified;
      return new Response(req.method === 'HEAD' ? null : file.bytes, { headers });
    });
    base = `http://127.0.0.1:${server.addr.port}`;
  });
  after(() => server.shutdown());

  it('load() downloads and hashes once, then serves the kept bytes after a HEAD revalidation', async () => {
    const url = serve('a', [1, 2, 3], { etag: 'W/"3-1"' });
    const models = new ModelSource();
    const first = await models.load(url);
    const second = await models.load(url);
    assert.equal(first.hash, await sha256Hex(new Uint8Array([1, 2, 3])));
    assert.equal(second.hash, first.hash);
    assert.equal(second.bytes, first.bytes, 'the same bytes are reused, not fetched again');
    assert.deepEqual(requests('a'), ['GET', 'HEAD']);
  });

  it('load() fetches and hashes again when the server reports a new validator', async () => {
    const url = serve('b', [1, 2, 3], { etag: '"v1"' });
    const models = new ModelSource();
    await models.load(url);
    serve('b', [4, 5, 6, 7], { etag: '"v2"' });
    const fresh = await models.load(url);
    assert.deepEqual([...new Uint8Array(fresh.bytes)], [4, 5, 6, 7]);
    assert.equal(fresh.hash, await sha256Hex(new Uint8Array([4, 5, 6, 7])));
    assert.deepEqual(requests('b'), ['GET', 'HEAD', 'GET']);
  });

  it('load() revalidates with Last-Modified when there is no ETag', async () => {
    const url = serve('c', [9], { lastModified: 'Mon, 23 Nov 2026 10:00:00 GMT' });
    const models = new ModelSource();
    await models.load(url);
    await models.load(url);
    serve('c', [8], { lastModified: 'Mon, 23 Nov 2026 11:00:00 GMT' });
    assert.deepEqual([...new Uint8Array((await models.load(url)).bytes)], [8]);
    assert.deepEqual(requests('c'), ['GET', 'HEAD', 'HEAD', 'GET']);
  });

  it('load() keeps nothing it cannot revalidate: without validators every call downloads', async () => {
    const url = serve('d', [1]);
    const models = new ModelSource();
    await models.load(url);
    serve('d', [2]);
    assert.deepEqual([...new Uint8Array((await models.load(url)).bytes)], [2]);
    assert.deepEqual(requests('d'), ['GET', 'GET']);
    assert.equal(models.size, 0);
  });

  it('concurrent load() calls for one URL share one download', async () => {
    const url = serve('e', [1, 2], { etag: '"e"' });
    const models = new ModelSource();
    const [x, y] = await Promise.all([models.load(url), models.load(url)]);
    assert.equal(x.bytes, y.bytes);
    assert.deepEqual(requests('e'), ['GET']);
  });

  it('load() rejects a failed download and keeps no entry for it', async () => {
    const models = new ModelSource();
    await assert.rejects(models.load(`${base}/m/none`), /Cannot fetch the model at .*\/m\/none: current status is 404/);
    const url = serve('none', [5], { etag: '"n"' });
    assert.deepEqual([...new Uint8Array((await models.load(url)).bytes)], [5]);
  });

  it('keeps models within its byte budget, dropping the least recently used', async () => {
    const models = new ModelSource({ budget: 5 });
    const f = serve('f', [1, 2, 3], { etag: '"f"' });
    const g = serve('g', [1, 2, 3], { etag: '"g"' });
    await models.load(f);
    await models.load(g);
    assert.equal(models.size, 3);
    await models.load(f);
    assert.deepEqual(requests('f'), ['GET', 'GET'], 'f was dropped for g and downloaded again');
    assert.throws(() => new ModelSource({ budget: -1 }), /'budget' must be a non-negative integer: current value is -1/);
  });
});
