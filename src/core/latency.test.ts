import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cachedPayment, latencyMultiplier } from './latency.ts';
import { shardPayment } from './cost.ts';

describe('latency tiers and cache rate', () => {
  it('latencyMultiplier() charges 3x at 20 ms or less, 2x at 100 ms or less, 1x otherwise', () => {
    assert.deepEqual([undefined, 1, 20, 21, 100, 101, 60_000].map(latencyMultiplier), [1, 3, 3, 2, 2, 1, 1]);
    assert.throws(() => latencyMultiplier(0), /positive number of ms: current value is 0/);
  });

  it('cachedPayment() is a tenth of computing, rounded up, never more than computing', () => {
    assert.equal(cachedPayment(2000, 1), 200);
    assert.equal(cachedPayment(3, 1), 1);
    assert.equal(cachedPayment(5, 0), 0);
    for (const [w, p] of [[1, 1], [7, 3], [1e6, 9]] as const) assert.ok(cachedPayment(w, p) <= shardPayment(w, p));
  });
});
