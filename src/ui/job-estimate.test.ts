import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { estimateJob, matmulShardUnits, onnxShardUnits } from './job-estimate.ts';

describe('job-estimate', () => {
  it('onnxShardUnits() gives the last shard the remainder', () => {
    assert.deepEqual(onnxShardUnits(5, 2), [2000, 2000, 1000]);
    assert.deepEqual(onnxShardUnits(1, 4), [1000]);
  });

  it('matmulShardUnits() counts MFLOP per tile, edge tiles smaller', () => {
    // 2 * 64 * 64 * 128 = 1.05 MFLOP -> 2 work units per tile
    assert.deepEqual(matmulShardUnits(128, 64), [2, 2, 2, 2]);
    // 100 = 64 + 36: tiles of 64x64, 64x36, 36x64, 36x36 over k = 100
    assert.deepEqual(matmulShardUnits(100, 64), [1, 1, 1, 1]);
    assert.equal(matmulShardUnits(2048, 64).length, 1024);
  });

  it('estimateJob() holds three runs at the bid and expects one run at the lowest ask plus replicas', () => {
    const e = estimateJob([2000, 2000], 2, 0, 0.05, 1);
    assert.equal(e.shards, 2);
    assert.equal(e.workUnits, 4000);
    assert.equal(e.escrow, 3 * 2 * (4000 + 200));
    assert.equal(e.price, 1);
    assert.equal(e.expected, 2 * (2000 + 100));
    assert.equal(e.expectedFees, 200);
    const verified = estimateJob([2000, 2000], 2, 0.5, 0.05, 1);
    assert.equal(verified.expected, Math.round(1.5 * 4200));
  });

  it('estimateJob() assumes the bid when no ask is known, and never a price above the bid', () => {
    assert.equal(estimateJob([1000], 2, 0, 0.05).price, 2);
    assert.equal(estimateJob([1000], 2, 0, 0.05, 7).price, 2);
  });
});
