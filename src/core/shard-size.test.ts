import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BLOB_BYTES } from '../protocol/peer.ts';
import {
  batchShardItems,
  DEFAULT_BATCH_SHARDS,
  DEFAULT_TILE,
  MAX_PLANNED_SHARDS,
  matmulTileSide,
  saneFigures,
  SHARDS_PER_CONTRIBUTOR,
  TARGET_MS,
  TILE_STEP,
} from './shard-size.ts';

/** A PP-OCR-like batch: 1000 work units and 36 KiB of input per item. */
const OCR = { unitsPerItem: 1000, bytesPerItem: 3 * 64 * 48 * 4 };

function shards(items: number, per: number): number {
  return Math.ceil(items / per);
}

describe('batchShardItems()', () => {
  it('without a measured speed keeps the default split into 16 shards, whatever else is known', () => {
    assert.equal(batchShardItems({ items: 1600, ...OCR }), 100);
    assert.equal(batchShardItems({ items: 1600, ...OCR }, { contributors: 50, bytesPerSec: 1e7, rttMs: 30 }), 1600 / DEFAULT_BATCH_SHARDS);
    assert.equal(batchShardItems({ items: 5, ...OCR }, {}), 1);
  });

  it('sizes a shard to about TARGET_MS on the median contributor: a slow mesh gets smaller shards than a fast one', () => {
    const items = 10_000;
    const slow = batchShardItems({ items, ...OCR }, { unitsPerSec: 2_000, contributors: 4 }); // 2 items/s: phones
    const fast = batchShardItems({ items, ...OCR }, { unitsPerSec: 200_000, contributors: 4 }); // 200 items/s: GPUs
    assert.equal(slow, (TARGET_MS / 1000) * 2);
    assert.equal(fast, (TARGET_MS / 1000) * 200);
    assert.ok(fast > slow);
  });

  it('a slow link bounds the shard by its transfer time, and a long round trip makes shards bigger', () => {
    const base = { unitsPerSec: 1e6, contributors: 2 }; // 1000 items/s: compute alone wants 3000 items
    const thin = batchShardItems({ items: 20_000, ...OCR }, { ...base, bytesPerSec: 1e6 }); // 1 MB/s: ~27 items/s
    assert.equal(thin, Math.floor(TARGET_MS / ((OCR.bytesPerItem / 1e6) * 1000)));
    const near = batchShardItems({ items: 20_000, ...OCR }, { unitsPerSec: 10_000, contributors: 2 }); // 10 items/s
    const far = batchShardItems({ items: 20_000, ...OCR }, { unitsPerSec: 10_000, contributors: 2, rttMs: 10_000 });
    assert.equal(near, 30);
    assert.equal(far, 1000, 'a 10 s round trip is at most a tenth of a shard: 100 s of work');
  });

  it('gives every eligible contributor at least SHARDS_PER_CONTRIBUTOR shards, before the time target', () => {
    const items = 600;
    const per = batchShardItems({ items, ...OCR }, { unitsPerSec: 10_000, contributors: 20 }); // 10 items/s
    assert.ok(shards(items, per) >= SHARDS_PER_CONTRIBUTOR * 20, `${shards(items, per)} shards for 20 contributors`);
    assert.equal(per, 10);
  });

  it('tiny jobs: one shard when splitting only adds overhead, never an empty shard', () => {
    assert.equal(batchShardItems({ items: 1, ...OCR }, { unitsPerSec: 1, contributors: 1000 }), 1);
    assert.equal(batchShardItems({ items: 7, ...OCR }, { unitsPerSec: 1e9, contributors: 4 }), 7, 'a few microseconds of work: one shard');
    assert.equal(batchShardItems({ items: 7, ...OCR }, { unitsPerSec: 2_000, contributors: 1 }), 3, '3.5 s of work: three shards for one contributor');
  });

  it('huge jobs stay within MAX_PLANNED_SHARDS and the protocol blob size', () => {
    const items = 5_000_000;
    const per = batchShardItems({ items, ...OCR }, { unitsPerSec: 1, contributors: 1e6 });
    assert.ok(shards(items, per) <= MAX_PLANNED_SHARDS);
    const big = batchShardItems({ items: 1e6, unitsPerItem: 1, bytesPerItem: 4 << 20 }, { unitsPerSec: 1e9, contributors: 1 });
    assert.ok(big * (4 << 20) <= MAX_BLOB_BYTES, `${big} items of 4 MiB fit one blob`);
  });

  it('hostile or absurd figures are clamped or ignored, never a crash or a degenerate plan', () => {
    const items = 10_000;
    for (const f of [
      { unitsPerSec: NaN },
      { unitsPerSec: -5 },
      { unitsPerSec: 0 },
      { unitsPerSec: Infinity },
      { unitsPerSec: '1e9' as unknown as number },
    ]) assert.equal(batchShardItems({ items, ...OCR }, f), items / DEFAULT_BATCH_SHARDS, JSON.stringify(f));
    const absurd = batchShardItems({ items, ...OCR }, { unitsPerSec: 1e300, contributors: 1e300, bytesPerSec: 1e300, rttMs: 1e300 });
    assert.ok(absurd >= 1 && absurd <= items);
    assert.deepEqual(saneFigures({ unitsPerSec: 1e300, contributors: 2.7, bytesPerSec: 1, rttMs: -1 }), { unitsPerSec: 1e12, contributors: 2, bytesPerSec: undefined, rttMs: undefined });
    assert.throws(() => batchShardItems({ items: 0, ...OCR }), /items/);
    assert.throws(() => batchShardItems({ items: 1.5, ...OCR }), /items/);
  });
});

describe('matmulTileSide()', () => {
  const dims = { m: 4096, n: 4096, k: 4096 };

  it('without a measured speed keeps the default tile', () => {
    assert.equal(matmulTileSide(dims), DEFAULT_TILE);
    assert.equal(matmulTileSide(dims, { contributors: 8, rttMs: 20 }), DEFAULT_TILE);
  });

  it('a fast mesh gets bigger tiles than a slow one, each about TARGET_MS of work', () => {
    const slow = matmulTileSide(dims, { unitsPerSec: 2_000, contributors: 1 }); // 2 GFLOP/s
    const fast = matmulTileSide(dims, { unitsPerSec: 500_000, contributors: 1 }); // 500 GFLOP/s
    assert.ok(fast > slow, `${fast} > ${slow}`);
    for (const [side, speed] of [[slow, 2_000], [fast, 500_000]] as const) {
      assert.equal(side % TILE_STEP, 0);
      const ms = ((2 * side * side * dims.k) / 1e6 / speed) * 1000;
      assert.ok(ms <= TARGET_MS, `${side}: ${ms} ms`);
      const next = side + TILE_STEP;
      assert.ok(((2 * next * next * dims.k) / 1e6 / speed) * 1000 > TARGET_MS || side * 3 > dims.m, 'the largest step within the target');
    }
  });

  it('balances over the contributors, bounds by the link, and covers a small product in one tile', () => {
    const many = matmulTileSide(dims, { unitsPerSec: 1e3, contributors: 64 }); // 1 GFLOP/s each
    assert.equal(matmulTileSide(dims, { unitsPerSec: 1e5, contributors: 64 }), 2496, "1.4 s of work in all: tiles of MIN_SHARD_MS, not 192 of 7 ms");
    assert.ok(Math.ceil(4096 / many) ** 2 >= SHARDS_PER_CONTRIBUTOR * 64);
    const thin = matmulTileSide({ m: 1024, n: 1024, k: 4096 }, { unitsPerSec: 1e7, contributors: 1, bytesPerSec: 1e6 });
    assert.ok((8 * thin * dims.k) / 1e6 * 1000 <= TARGET_MS, `${thin}: its inputs move within the target`);
    assert.ok(thin < matmulTileSide({ m: 1024, n: 1024, k: 4096 }, { unitsPerSec: 1e7, contributors: 1 }));
    assert.equal(matmulTileSide({ m: 64, n: 64, k: 64 }, { unitsPerSec: 1e6, contributors: 8 }), 64, 'half a work unit: one tile');
  });

  it('huge or hostile: never over MAX_PLANNED_SHARDS tiles or the blob size, never below one step', () => {
    const huge = { m: 200_000, n: 200_000, k: 65_536 };
    const side = matmulTileSide(huge, { unitsPerSec: 1e-3, contributors: 1e9 });
    assert.equal(matmulTileSide(huge), side, 'the default tile is bounded the same way');
    assert.ok(Math.ceil(huge.m / side) * Math.ceil(huge.n / side) <= MAX_PLANNED_SHARDS || 8 * (side + TILE_STEP) * huge.k > MAX_BLOB_BYTES);
    assert.ok(8 * side * huge.k <= MAX_BLOB_BYTES);
    assert.equal(matmulTileSide(dims, { unitsPerSec: -1 }), DEFAULT_TILE);
    assert.ok(matmulTileSide(dims, { unitsPerSec: 1e300 }) <= 4096);
    assert.ok(matmulTileSide(dims, { unitsPerSec: 1e-300 }) >= TILE_STEP);
    assert.throws(() => matmulTileSide({ m: 0, n: 1, k: 1 }), /'m'/);
  });
});
