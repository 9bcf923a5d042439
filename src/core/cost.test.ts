import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from './testing/prng.ts';
import {
  escrowFor,
  MAX_PAID_RUNS,
  FEE_RATE,
  feeFor,
  feeRatePpm,
  settlementFor,
  shardMaxCost,
  shardPayment,
  workUnitsForMatmul,
  workUnitsForOnnx,
} from './cost.ts';

describe('cost', () => {
  it('shardPayment() multiplies work units by price exactly', () => {
    assert.equal(shardPayment(1000, 2), 2000);
    assert.equal(shardPayment(0, 7), 0);
    assert.equal(shardPayment(123_456_789, 1000), 123_456_789_000);
  });

  it('shardPayment() rejects non-integers, negatives and unsafe products, naming the value', () => {
    assert.throws(() => shardPayment(1.5, 2), /'workUnits'.*current value is 1\.5/);
    assert.throws(() => shardPayment(10, -1), /'price'.*current value is -1/);
    assert.throws(() => shardPayment(2 ** 40, 2 ** 20), /MAX_SAFE_INTEGER/);
  });

  it('feeFor() rounds the fee down, so it never exceeds the rate of the payment', () => {
    assert.equal(feeFor(2000), 100);
    assert.equal(feeFor(1), 0); // a 1 micro-credit payment is not charged a 100% fee
    assert.equal(feeFor(19), 0);
    assert.equal(feeFor(0), 0);
    assert.equal(feeFor(21), 1); // 1.05 -> 1
    assert.equal(feeFor(20), 1);
    assert.equal(feeFor(39), 1);
    assert.equal(feeFor(2000, 0), 0);
    assert.equal(feeFor(2000, 1), 2000);
  });

  it('feeFor() is exact where float multiplication is not', () => {
    // 100 * 0.29 is 28.999999999999996 in floating point; a naive Math.floor would charge 28.
    assert.equal(Math.floor(100 * 0.29), 28);
    assert.equal(feeFor(100, 0.29), 29);
    // Beyond 2^53 / 1e6 a float product loses the remainder; the exact fee still rounds down.
    assert.equal(feeFor(9_007_199_254_740_991, FEE_RATE), 450_359_962_737_049);
  });

  it('feeRatePpm() accepts whole ppm rates and rejects finer or out-of-range ones', () => {
    assert.equal(feeRatePpm(0.05), 50_000n);
    assert.equal(feeRatePpm(0.07), 70_000n);
    assert.throws(() => feeRatePpm(0.0000005), /finer than one part per million.*5e-7/);
    assert.throws(() => feeRatePpm(1.5), /\[0, 1\].*1\.5/);
    assert.throws(() => feeRatePpm(Number.NaN), /current value is NaN/);
  });

  it('settlementFor() and shardMaxCost() combine payment and fee', () => {
    assert.deepEqual(settlementFor(1000, 1), { amount: 1000, fee: 50 });
    assert.equal(shardMaxCost(1000, 2), 2100);
  });

  it('escrowFor() holds three runs of every shard at the bid', () => {
    const shards = [{ workUnits: 1000 }, { workUnits: 2000 }, { workUnits: 500 }];
    // per run at bid 2: 2100, 4200, 1050
    assert.equal(escrowFor({ shards, bid: 2 }), 3 * (2100 + 4200 + 1050));
    assert.equal(escrowFor({ shards, bid: 2, feeRate: 0 }), 3 * 7000);
  });

  it('escrowFor() sums the fee per run; tiny settlements carry no fee', () => {
    const shards = Array.from({ length: 100 }, () => ({ workUnits: 1 }));
    // Each settlement of 1 micro-credit carries a fee of floor(0.05) = 0.
    assert.equal(escrowFor({ shards, bid: 1 }), 300);
    const big = Array.from({ length: 100 }, () => ({ workUnits: 21 }));
    // 21 -> fee 1 per run; a job-level fee floor(6300 * 0.05) = 315 would exceed the 300 the runs can charge.
    assert.equal(escrowFor({ shards: big, bid: 1 }), 3 * 100 * 22);
    assert.throws(() => escrowFor({ shards, bid: 1.5 }), /'price'.*1\.5/);
  });

  it('escrowFor() covers every payment sequence the market rules allow', () => {
    const next = rng(42);
    for (let trial = 0; trial < 300; trial++) {
      const feeRate = [0, 0.01, 0.05, 0.07, 0.333333][next(5)]!;
      const bid = 1 + next(20);
      const shards = Array.from({ length: 1 + next(12) }, () => ({ workUnits: 1 + next(5000) }));
      const escrow = escrowFor({ shards, bid, feeRate });
      let paid = 0;
      for (const s of shards) {
        const runs = 1 + next(MAX_PAID_RUNS);
        for (let r = 0; r < runs; r++) {
          const { amount, fee } = settlementFor(s.workUnits, 1 + next(bid), feeRate);
          paid += amount + fee;
        }
      }
      assert.ok(paid <= escrow, `trial ${trial}: paid ${paid} > escrow ${escrow}`);
    }
  });

  it('workUnitsForOnnx() is 1000 per item', () => {
    assert.equal(workUnitsForOnnx(1), 1000);
    assert.equal(workUnitsForOnnx(64), 64_000);
    assert.throws(() => workUnitsForOnnx(0), /'items'.*current value is 0/);
  });

  it('workUnitsForMatmul() is the ceiling of MFLOP, at least 1', () => {
    assert.equal(workUnitsForMatmul(1, 1, 1), 1);
    assert.equal(workUnitsForMatmul(500, 1000, 1000), 1000); // exactly 1e9 flops
    assert.equal(workUnitsForMatmul(500, 1000, 1001), 1001);
    assert.equal(workUnitsForMatmul(100, 100, 51), 2); // 1.02 MFLOP -> 2
    assert.equal(workUnitsForMatmul(256, 256, 256), 34); // 33.55 MFLOP
    assert.throws(() => workUnitsForMatmul(4, 0, 4), /'n'.*current value is 0/);
  });
});
