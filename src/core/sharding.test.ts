import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assembleMatmul,
  batchSize,
  concatBatch,
  matmulTileInputs,
  matmulTileOutput,
  matmulTiles,
  packTensors,
  shardCount,
  splitBatch,
  unpackTensors,
} from './sharding.ts';
import type { TensorData } from '../protocol/tensor.ts';

function f32(name: string, dims: number[], fill: (i: number) => number): TensorData {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dtype: 'float32', dims, data: Float32Array.from({ length: n }, (_, i) => fill(i)).buffer };
}

describe('batch sharding', () => {
  it('shardCount() rounds the last partial shard up', () => {
    assert.equal(shardCount(10, 4), 3);
    assert.equal(shardCount(8, 4), 2);
    assert.equal(shardCount(0, 4), 0);
    assert.throws(() => shardCount(10, 0), /'itemsPerShard' must be a positive integer: current value is 0/);
  });

  it('splitBatch() cuts every input along axis 0 with a smaller last shard', () => {
    const x = f32('x', [5, 2, 3], (i) => i);
    const ids: TensorData = { name: 'ids', dtype: 'int64', dims: [5], data: BigInt64Array.from([1n, 2n, 3n, 4n, 5n]).buffer };
    const shards = splitBatch([x, ids], 2);
    assert.equal(shards.length, 3);
    assert.deepEqual(shards.map((s) => s[0]!.dims), [[2, 2, 3], [2, 2, 3], [1, 2, 3]]);
    assert.deepEqual([...new Float32Array(shards[1]![0]!.data)], Array.from({ length: 12 }, (_, i) => 12 + i));
    assert.deepEqual([...new BigInt64Array(shards[2]![1]!.data)], [5n]);
    assert.equal(shards[2]![1]!.name, 'ids');
  });

  it('batchSize() refuses inputs whose batch sizes differ', () => {
    assert.throws(() => batchSize([{ name: 'a', dims: [4, 2] }, { name: 'b', dims: [3] }]), /Cannot split 'b' along axis 0.*current dims are \[3\]/);
    assert.throws(() => batchSize([{ name: 's', dims: [] }]), /Cannot split 's'/);
  });

  it('packTensors() and unpackTensors() round-trip mixed dtypes in order', () => {
    const a = f32('a', [3], (i) => i + 0.5);
    const b: TensorData = { name: 'b', dtype: 'uint8', dims: [3], data: new Uint8Array([7, 8, 9]).buffer };
    const c: TensorData = { name: 'c', dtype: 'int64', dims: [1], data: BigInt64Array.from([-2n]).buffer };
    const packed = packTensors([a, b, c]);
    assert.equal(packed.byteLength, 12 + 3 + 8);
    const [ua, ub, uc] = unpackTensors(packed, [a, b, c]);
    assert.deepEqual([...new Float32Array(ua!.data)], [0.5, 1.5, 2.5]);
    assert.deepEqual([...new Uint8Array(ub!.data)], [7, 8, 9]);
    assert.deepEqual([...new BigInt64Array(uc!.data)], [-2n]);
  });

  it('packTensors() packs only the viewed bytes of a typed-array view', () => {
    const backing = new Float32Array([1, 2, 3, 4]);
    const packed = packTensors([{ data: backing.subarray(1, 3) }]);
    assert.deepEqual([...new Float32Array(packed)], [2, 3]);
  });

  it('unpackTensors() refuses a buffer of the wrong size', () => {
    assert.throws(
      () => unpackTensors(new ArrayBuffer(10), [{ name: 'x', dtype: 'float32', dims: [2] }]),
      /must hold 8 bytes for \[x\]: current length is 10/,
    );
  });

  it('concatBatch() undoes splitBatch()', () => {
    const x = f32('x', [7, 4], (i) => i * 3);
    const back = concatBatch(splitBatch([x], 3));
    assert.deepEqual(back[0]!.dims, [7, 4]);
    assert.deepEqual(new Float32Array(back[0]!.data), new Float32Array(x.data));
  });

  it('concatBatch() refuses shards whose trailing dims differ', () => {
    assert.throws(
      () => concatBatch([[f32('y', [2, 3], () => 0)], [f32('y', [2, 4], () => 0)]]),
      /Cannot concatenate output 0 of shard 1 as it must match y:float32\[2,3\]/,
    );
  });
});

describe('matmul tiling', () => {
  it('matmulTiles() covers C exactly once with smaller edge tiles', () => {
    const tiles = matmulTiles(300, 130, 128);
    assert.equal(tiles.length, 3 * 2);
    assert.deepEqual(tiles[5], { index: 5, row: 256, col: 128, mt: 44, nt: 2 });
    const area = tiles.reduce((n, t) => n + t.mt * t.nt, 0);
    assert.equal(area, 300 * 130);
  });

  it('matmulTileInputs() gives contiguous A rows and B columns', () => {
    const m = 3, k = 2, n = 5;
    const a = Float32Array.from({ length: m * k }, (_, i) => i);
    const b = Float32Array.from({ length: k * n }, (_, i) => 100 + i);
    const tile = matmulTiles(m, n, 2)[4]!; // row 2, cols 2..3
    const inputs = matmulTileInputs(a, b, k, n, tile);
    assert.equal(inputs.length, 2);
    const [ta, tb] = inputs;
    assert.deepEqual(ta!.dims, [1, 2]);
    assert.deepEqual([...new Float32Array(ta!.data)], [4, 5]);
    assert.deepEqual(tb!.dims, [2, 2]);
    assert.deepEqual([...new Float32Array(tb!.data)], [102, 103, 107, 108]);
    assert.deepEqual(matmulTileOutput(tile).dims, [1, 2]);
  });

  it('assembleMatmul() of tile products equals the full product', () => {
    const m = 37, k = 19, n = 29;
    const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) - 6);
    const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) - 5);
    const full = new Float32Array(m * n);
    for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += a[r * k + i]! * b[i * n + c]!;
      full[r * n + c] = s;
    }
    const tiles = matmulTiles(m, n, 16);
    const blocks = tiles.map((t) => {
      const [ta, tb] = matmulTileInputs(a, b, k, n, t);
      const av = new Float32Array(ta!.data), bv = new Float32Array(tb!.data);
      const out = new Float32Array(t.mt * t.nt);
      for (let r = 0; r < t.mt; r++) for (let c = 0; c < t.nt; c++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += av[r * k + i]! * bv[i * t.nt + c]!;
        out[r * t.nt + c] = s;
      }
      return out;
    });
    assert.deepEqual(assembleMatmul(m, n, tiles, blocks), full);
  });

  it('assembleMatmul() refuses a block of the wrong size', () => {
    const tiles = matmulTiles(4, 4, 2);
    const blocks = tiles.map(() => new Float32Array(4));
    blocks[2] = new Float32Array(3);
    assert.throws(() => assembleMatmul(4, 4, tiles, blocks), /Cannot place tile 2 .* current length is 3/);
  });
});
