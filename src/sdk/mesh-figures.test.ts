import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batchShardItems, DEFAULT_BATCH_SHARDS, DEFAULT_TILE, matmulTileSide } from '../core/shard-size.ts';
import { LINK_SAMPLES, LinkMeter, MeshFigureSource, MIN_SAMPLE_BYTES, parseCapacity, REFRESH_MS } from './mesh-figures.ts';
import { planMatmul, planOnnx, planRows, ROWS_MAX_SHARD_BYTES } from './kernels/index.ts';

const loadModel = () => Promise.resolve({ bytes: new ArrayBuffer(8), hash: 'h'.repeat(64) });

/** A real HTTP server on loopback answering `/api/capacity` with `body`; counts requests. */
function server(body: () => unknown) {
  let hits = 0;
  const srv = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen: () => {} }, (req) => {
    hits++;
    return new URL(req.url).pathname === '/api/capacity' ? Response.json(body()) : new Response('no', { status: 404 });
  });
  return { base: `http://127.0.0.1:${srv.addr.port}`, hits: () => hits, close: () => srv.shutdown() };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

describe('mesh figures: what the client knows when it sizes shards', () => {
  it('parseCapacity() keeps well-formed kinds and drops hostile ones', () => {
    assert.deepEqual(parseCapacity({ onnx: { active: 3, measured: 2, unitsPerSec: 4000 }, matmul: { active: 1, unitsPerSec: null } }), {
      onnx: { contributors: 3, unitsPerSec: 4000 },
      matmul: { contributors: 1, unitsPerSec: undefined },
    });
    for (const hostile of [null, 'x', 42, [], { onnx: null }, { onnx: { active: -1, unitsPerSec: 5 } }, { onnx: { active: 1.5 } }, { onnx: { active: '3' } }]) {
      assert.deepEqual(parseCapacity(hostile), {}, JSON.stringify(hostile));
    }
    assert.deepEqual(parseCapacity({ wgsl: { active: 2, unitsPerSec: -1 } }), { wgsl: { contributors: 2, unitsPerSec: undefined } });
    assert.deepEqual(parseCapacity({ wgsl: { active: 2, unitsPerSec: 'Infinity' } }), { wgsl: { contributors: 2, unitsPerSec: undefined } });
    assert.deepEqual(parseCapacity({ rows: { active: 4, measured: 1, unitsPerSec: 50 } }), { rows: { contributors: 4, unitsPerSec: 50 } });
  });

  it('LinkMeter keeps the median of the latest samples and ignores blobs too small to time', () => {
    const m = new LinkMeter();
    assert.equal(m.bytesPerSec, undefined);
    m.recordSend(1024, 1); // too small: latency, not bandwidth
    assert.equal(m.bytesPerSec, undefined);
    for (const ms of [100, 200, 400]) m.recordSend(MIN_SAMPLE_BYTES * 10, ms);
    assert.equal(m.bytesPerSec, (MIN_SAMPLE_BYTES * 10) / 0.2);
    m.recordRtt(NaN);
    m.recordRtt(-1);
    for (let i = 0; i < LINK_SAMPLES * 3; i++) m.recordRtt(i < LINK_SAMPLES * 2 ? 1000 : 5);
    assert.equal(m.rttMs, 5, 'only the latest LINK_SAMPLES count');
  });

  it('MeshFigureSource reads /api/capacity from the coordinator, at most once per REFRESH_MS, and survives a bad answer', async () => {
    let answer: unknown = { onnx: { active: 4, measured: 4, unitsPerSec: 2000 } };
    const s = server(() => answer);
    try {
      const src = new MeshFigureSource(() => s.base);
      assert.deepEqual(src.figures('onnx'), { contributors: undefined, unitsPerSec: undefined, bytesPerSec: undefined, rttMs: undefined });
      src.refresh(0);
      src.refresh(1); // one request in flight at a time
      await until('figures arrived', () => src.figures('onnx').unitsPerSec === 2000);
      assert.equal(src.figures('onnx').contributors, 4);
      assert.equal(s.hits(), 1);
      answer = { onnx: 'garbage' };
      src.refresh(performance.now()); // fresh: no request
      assert.equal(s.hits(), 1);
      src.refresh(performance.now() + REFRESH_MS);
      await until('asked again', () => s.hits() === 2 && src.figures('onnx').unitsPerSec === undefined);
      const dead = new MeshFigureSource(() => 'http://127.0.0.1:9'); // nothing listens: defaults stay
      dead.refresh(0);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(dead.figures('matmul').unitsPerSec, undefined);
    } finally {
      await s.close();
    }
  });

  it('a plan is sized from the figures unless the caller chose a size; with none it keeps the defaults', async () => {
    const items = 4000;
    const x = new Float32Array(items * 2);
    const inputs = { x: { dtype: 'float32' as const, dims: [items, 2], data: x } };
    const plain = await planOnnx({ model: { url: 'u' }, inputs, outputs: ['y'] }, loadModel);
    assert.equal(plain.shards.length, DEFAULT_BATCH_SHARDS);
    const figures = { contributors: 10, unitsPerSec: 20_000 }; // 20 items/s each: 60-item shards
    const sized = await planOnnx({ model: { url: 'u' }, inputs, outputs: ['y'] }, loadModel, figures);
    const per = batchShardItems({ items, unitsPerItem: 1000, bytesPerItem: 8 }, figures);
    assert.equal(per, 60);
    assert.equal(sized.shards.length, Math.ceil(items / per));
    assert.ok(sized.shards.length >= 3 * 10);
    const chosen = await planOnnx({ model: { url: 'u' }, inputs, outputs: ['y'], itemsPerShard: 1000 }, loadModel, figures);
    assert.equal(chosen.shards.length, 4, "the caller's size wins");

    const n = 256;
    const mm = { a: new Float32Array(n * n), b: new Float32Array(n * n), m: n, k: n, n };
    assert.equal((await planMatmul(mm)).shards.length, Math.ceil(n / DEFAULT_TILE) ** 2);
    const slow = { contributors: 4, unitsPerSec: 10 }; // 10 MFLOP/s: a 64-side tile of k = 256 takes 0.2 s
    const side = matmulTileSide({ m: n, n, k: n }, slow);
    assert.ok(side < n);
    assert.equal((await planMatmul(mm, slow)).shards.length, Math.ceil(n / side) ** 2);
    assert.equal((await planMatmul({ ...mm, tile: 128 }, slow)).shards.length, 4, "the caller's tile wins");
  });

  it('a row-kernel plan is sized from the figures, never past ROWS_MAX_SHARD_BYTES of x per shard', async () => {
    const rows = 4000;
    const cols = 256;
    const x = new Float32Array(rows * cols);
    assert.equal((await planRows({ op: 'softmax', x, rows, cols })).shards.length, DEFAULT_BATCH_SHARDS);
    // softmax: 4 flops an element, 1024 a row, so 0.01 units/s is ~102 ms a row: 29-row shards.
    const slow = { contributors: 10, unitsPerSec: 0.01 };
    const per = batchShardItems({ items: rows, unitsPerItem: (cols * 4) / 1e6, bytesPerItem: cols * 4 }, slow);
    assert.equal(per, 29);
    assert.equal((await planRows({ op: 'softmax', x, rows, cols }, slow)).shards.length, Math.ceil(rows / per));
    assert.equal((await planRows({ op: 'softmax', x, rows, cols, rowsPerShard: 1000 }, slow)).shards.length, 4, "the caller's size wins");
    const wide = 4096;
    const fast = await planRows({ op: 'relu', x: new Float32Array(rows * wide), rows, cols: wide }, { contributors: 1, unitsPerSec: 1e9 });
    for (const s of fast.shards) assert.ok(s.spec.inputs[0]!.dims[0]! * wide * 4 <= ROWS_MAX_SHARD_BYTES, `shard ${s.spec.index}: ${s.spec.inputs[0]!.dims}`);
  });
});
