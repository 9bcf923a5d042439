import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recordShard, type ShardLine } from './shard-log.ts';

const ev = (leaseId: string, phase: 'start' | 'done' | 'failed', ms?: number) => ({ leaseId, jobId: 'j1', shard: Number(leaseId.slice(1)), phase, ms });

describe('shard-log', () => {
  it('recordShard() puts new leases on top', () => {
    let log: ShardLine[] = [];
    log = recordShard(log, ev('l1', 'start'), 1);
    log = recordShard(log, ev('l2', 'start'), 2);
    assert.deepEqual(log.map((l) => l.leaseId), ['l2', 'l1']);
  });

  it("recordShard() replaces a lease's start line with its outcome, keeping the start time", () => {
    let log = recordShard([], ev('l1', 'start'), 10);
    log = recordShard(log, ev('l2', 'start'), 20);
    log = recordShard(log, ev('l1', 'done', 850), 30);
    assert.equal(log.length, 2);
    assert.deepEqual(log[1], { at: 10, leaseId: 'l1', jobId: 'j1', shard: 1, phase: 'done', ms: 850, error: undefined });
  });

  it('recordShard() adds an outcome whose start line scrolled out, and caps the length', () => {
    let log: ShardLine[] = [];
    for (let i = 0; i < 5; i++) log = recordShard(log, ev(`l${i}`, 'start'), i, 3);
    assert.deepEqual(log.map((l) => l.leaseId), ['l4', 'l3', 'l2']);
    log = recordShard(log, ev('l0', 'failed'), 9, 3);
    assert.deepEqual(log.map((l) => `${l.leaseId}:${l.phase}`), ['l0:failed', 'l4:start', 'l3:start']);
  });

  it('recordShard() rejects a non-positive size', () => {
    assert.throws(() => recordShard([], ev('l1', 'start'), 0, 0), RangeError);
  });
});
