/** Per-node costs from measured stage times: spread within a stage, rescaled to what a stage measured. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rescaleToMeasured, spreadStageTimes } from './measured-cost.ts';

describe('measured per-node costs', () => {
  it('spreadStageTimes() gives each stage its time, half evenly and half by weight bytes, at the graph index of each node', () => {
    // 4 computing nodes at graph indices 3, 0, 2, 4 (index 1: a Constant); stages [0, 3) and [3, 4).
    const cost = spreadStageTimes([{ start: 0, end: 3 }, { start: 3, end: 4 }], [30, 5], [100, 0, 300, 0], [3, 0, 2, 4], 5);
    assert.equal(cost[1], 0);
    assert.ok(Math.abs(cost[3]! - (30 * (0.5 / 3 + 0.5 * 0.25))) < 1e-12);
    assert.ok(Math.abs(cost[0]! - 30 * (0.5 / 3)) < 1e-12);
    assert.ok(Math.abs(cost[2]! - 30 * (0.5 / 3 + 0.5 * 0.75)) < 1e-12);
    assert.equal(cost[4], 5);
    assert.ok(Math.abs(cost[3]! + cost[0]! + cost[2]! - 30) < 1e-12);
    // A stage with no weights is spread evenly.
    assert.deepEqual(spreadStageTimes([{ start: 0, end: 2 }], [8], [0, 0], [0, 1], 2), [4, 4]);
  });

  it('spreadStageTimes() refuses ranges that do not tile the nodes and times that are not finite and >= 0', () => {
    const order = [0, 1, 2];
    assert.throws(() => spreadStageTimes([{ start: 0, end: 2 }], [1], [0, 0, 0], order, 3), /end at node 2 of 3/);
    assert.throws(() => spreadStageTimes([{ start: 0, end: 1 }, { start: 2, end: 3 }], [1, 1], [0, 0, 0], order, 3), /stage 1 covers \[2, 3\)/);
    assert.throws(() => spreadStageTimes([{ start: 0, end: 3 }], [NaN], [0, 0, 0], order, 3), /finite number >= 0/);
    assert.throws(() => spreadStageTimes([{ start: 0, end: 3 }], [-1], [0, 0, 0], order, 3), /finite number >= 0/);
    assert.throws(() => spreadStageTimes([{ start: 0, end: 3 }], [1, 2], [0, 0, 0], order, 3), /2 times for 1 stages/);
    assert.throws(() => spreadStageTimes([{ start: 0, end: 3 }], [1], [0, 0], order, 3), /one number per computing node/);
  });

  it('rescaleToMeasured() makes each stage sum to its measured time, keeping the proportions within it', () => {
    const order = [0, 1, 2, 3];
    const out = rescaleToMeasured([1, 3, 2, 0], [{ start: 0, end: 2 }, { start: 2, end: 4 }], [8, 6], order);
    assert.deepEqual(out, [2, 6, 6, 0]);
    // A stage predicted at 0 gets its time evenly.
    assert.deepEqual(rescaleToMeasured([0, 0, 1, 1], [{ start: 0, end: 2 }, { start: 2, end: 4 }], [4, 2], order), [2, 2, 1, 1]);
    assert.throws(() => rescaleToMeasured([1, 1, 1, 1], [{ start: 0, end: 4 }], [Infinity], order), /finite number >= 0/);
  });
});
