import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStatus } from '../protocol/coordinator.ts';
import { CostRecord, endError, lostError } from './job-end.ts';

const status = (over: Partial<JobStatus>): JobStatus => ({
  jobId: 'j1', state: 'running', shards: 4, settled: 0, escrow: 1000, spent: 0, fees: 0, refunded: 0, ...over,
});

describe('job end', () => {
  it('endError() takes the code and message of the reason a failed job carries', () => {
    const reason = { code: 'invalid-message' as const, message: "Cannot run job j1 as 2 contributor(s) found it wrong (shard 0: bad-input: no output 'nope')" };
    const err = endError(status({ state: 'failed', reason }), { done: 0, total: 4 }, false);
    assert.equal(err.code, 'invalid-message');
    assert.equal(err.message, reason.message);
  });

  it('endError() tells a cancel the client asked for from one the coordinator decided', () => {
    const asked = endError(status({ state: 'cancelled' }), { done: 1, total: 4 }, true);
    const decided = endError(status({ state: 'cancelled' }), { done: 1, total: 4 }, false);
    assert.equal(asked.code, 'cancelled');
    assert.equal(decided.code, 'cancelled');
    assert.match(asked.message, /as it was cancelled$/);
    assert.match(decided.message, /the coordinator cancelled it .*1 of 4 shards settled/);
  });

  it("endError() names an expired job's deadline with code 'lease-expired'", () => {
    const err = endError(status({ state: 'expired' }), { done: 2, total: 4 }, false);
    assert.equal(err.code, 'lease-expired');
    assert.match(err.message, /deadline passed: 2 of 4 shards settled/);
  });

  it("lostError() says the coordinator no longer knows the job, with code 'not-found'", () => {
    const err = lostError('j9', { done: 3, total: 8 });
    assert.equal(err.code, 'not-found');
    assert.match(err.message, /^Cannot finish job j9 as the coordinator no longer knows it .*3 of 8 shards settled/);
  });

  it("CostRecord.final() is the coordinator's status with nothing unknown", () => {
    const cost = new CostRecord().final(status({ state: 'done', spent: 600, fees: 30, refunded: 370 }));
    assert.deepEqual(cost, { spent: 600, fees: 30, refunded: 370, escrow: 1000, unknown: 0, source: 'coordinator' });
  });

  it('CostRecord.own() counts paid receipts once each, keeps the larger of them and the latest status, and marks the rest unknown', () => {
    const record = new CostRecord();
    record.held(1000);
    record.receipt('l1', 100, 5);
    record.receipt('l1', 100, 5); // sent again after a reconnect
    record.receipt('l2', 100, 5);
    assert.deepEqual(record.own(), { spent: 200, fees: 10, refunded: 0, escrow: 1000, unknown: 790, source: 'client' });
    // A status pushed after runs paid without a receipt (agreement, claim window) knows more.
    record.status(status({ spent: 300, fees: 15 }));
    assert.deepEqual(record.own(), { spent: 300, fees: 15, refunded: 0, escrow: 1000, unknown: 685, source: 'client' });
  });

  it('CostRecord.own() takes the escrow from a status when the submit answer gave none', () => {
    const record = new CostRecord();
    record.status(status({ escrow: 500 }));
    assert.equal(record.own().unknown, 500);
  });
});
