/** balancedSplit against exhaustive search on small random cases, and its edges. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../core/testing/prng.ts';
import { balancedSplit, heaviestUnitBound } from './balance.ts';

/** Every split of n items into k parts at allowed boundaries: [max, then -min] best, by brute force. */
function bruteBest(costs: number[], k: number, allowed: (b: number) => boolean): { max: number; min: number } {
  const n = costs.length;
  let best = { max: Infinity, min: -Infinity };
  const walk = (start: number, left: number, max: number, min: number) => {
    if (left === 1) {
      const last = costs.slice(start).reduce((a, b) => a + b, 0);
      const mx = Math.max(max, last);
      const mn = Math.min(min, last);
      if (mx < best.max || (mx === best.max && mn > best.min)) best = { max: mx, min: mn };
      return;
    }
    for (let b = start + 1; b < n; b++) {
      if (!allowed(b)) continue;
      const part = costs.slice(start, b).reduce((a, c) => a + c, 0);
      walk(b, left - 1, Math.max(max, part), Math.min(min, part));
    }
  };
  walk(0, k, -Infinity, Infinity);
  return best;
}

describe('balancedSplit', () => {
  it('balancedSplit(slack 0) matches exhaustive search on 300 random integer cases, forbidden cuts included', () => {
    const r = rng(7);
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + r(11);
      const k = 1 + r(Math.min(n, 5));
      const costs = Array.from({ length: n }, () => (r(4) === 0 ? 0 : r(50)));
      const forbidden = new Set(Array.from({ length: r(4) }, () => 1 + r(Math.max(1, n - 1))));
      const allowed = (b: number) => !forbidden.has(b);
      const cutsLeft = n - 1 - [...forbidden].filter((b) => b < n).length;
      if (cutsLeft < k - 1) {
        assert.throws(() => balancedSplit(costs, k, allowed), RangeError);
        continue;
      }
      const got = balancedSplit(costs, k, allowed, 0);
      const want = bruteBest(costs, k, allowed);
      assert.equal(got.bounds.length, k + 1);
      assert.equal(got.bounds[0], 0);
      assert.equal(got.bounds[k], n);
      for (let i = 0; i < k; i++) assert.ok(got.bounds[i]! < got.bounds[i + 1]!, `parts non-empty: ${got.bounds}`);
      for (const b of got.bounds.slice(1, -1)) assert.ok(allowed(b), `cut ${b} is allowed`);
      assert.deepEqual({ max: got.max, min: got.min }, want, `costs ${costs} k ${k} forbidden ${[...forbidden]}`);
      checked++;
    }
    assert.ok(checked > 200);
  });

  it('balancedSplit() reaches the float optimum within 1e-9 on non-integer costs', () => {
    const r = rng(11);
    for (let trial = 0; trial < 100; trial++) {
      const n = 2 + r(9);
      const k = 1 + r(Math.min(n, 4));
      const costs = Array.from({ length: n }, () => r(1000) / 7);
      const got = balancedSplit(costs, k, () => true, 0);
      const want = bruteBest(costs, k, () => true);
      assert.ok(Math.abs(got.max - want.max) <= 1e-9 * want.max, `max ${got.max} vs ${want.max}`);
      assert.ok(got.min >= want.min - 1e-9 * want.max, `min ${got.min} vs ${want.min}`);
    }
  });

  it('balancedSplit() with slack trades at most 25% on the largest part for a ratio no worse than slack 0', () => {
    const r = rng(13);
    const ratio = (s: { max: number; min: number }) => (s.min > 0 ? s.max / s.min : Infinity);
    let better = 0;
    for (let trial = 0; trial < 200; trial++) {
      const n = 2 + r(12);
      const k = 1 + r(Math.min(n, 5));
      const costs = Array.from({ length: n }, () => (r(3) === 0 ? r(400) : r(40)));
      const tight = balancedSplit(costs, k, () => true, 0);
      const got = balancedSplit(costs, k);
      assert.ok(got.max <= Math.floor(tight.max * 1.25), `max ${got.max} vs ${tight.max}`);
      assert.ok(ratio(got) <= ratio(tight), `ratio ${ratio(got)} vs ${ratio(tight)}`);
      assert.equal(got.bounds.length, k + 1);
      if (ratio(got) < ratio(tight)) better++;
    }
    assert.ok(better > 0, 'the slack helps somewhere');
  });

  it('balancedSplit() joins a sliver to the heavy part before it when a 1% higher cap allows it', () => {
    const tight = balancedSplit([20, 20, 20, 100, 1], 3, () => true, 0);
    assert.deepEqual(tight.bounds, [0, 3, 4, 5]);
    const got = balancedSplit([20, 20, 20, 100, 1], 3);
    assert.deepEqual(got.bounds, [0, 2, 3, 5]);
    assert.deepEqual([got.max, got.min], [101, 20]);
  });

  it('balancedSplit() refuses more parts than items, and k < 1', () => {
    assert.throws(() => balancedSplit([1, 2, 3], 4), /Cannot split into 4 parts as only 3 can be made/);
    assert.throws(() => balancedSplit([1, 2, 3], 0), RangeError);
    assert.throws(() => balancedSplit([1, 2, 3], 2, () => false), /0 allowed cuts/);
  });

  it('balancedSplit() reports the heaviest unit, and heaviestUnitBound() the ratio it forces', () => {
    const split = balancedSplit([1, 1, 10, 1, 1], 3);
    assert.equal(split.unit, 10);
    assert.equal(split.max, 10);
    assert.equal(heaviestUnitBound(10, 14, 3), 10 / 2);
    assert.equal(heaviestUnitBound(3, 12, 4), 1);
    assert.equal(heaviestUnitBound(5, 5, 2), Infinity);
  });
});
