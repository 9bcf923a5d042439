import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TensorData } from '../protocol/tensor.ts';
import { ShardTally } from './shard-tally.ts';

const tol = { abs: 1e-5, rel: 1e-4 };
const out = (...v: number[]): TensorData[] => [{ name: 'y', dtype: 'float32', dims: [v.length], data: new Float32Array(v).buffer }];
const lease = (leaseId: string, replica = false) => ({ leaseId, contributor: `mw-${leaseId}`, replica });

describe('ShardTally', () => {
  it('pays and uses the first output of an unverified shard', () => {
    const t = new ShardTally(0, tol);
    t.addLease(lease('a'));
    assert.deepEqual(t.output('a', out(1), 'h1'), [{ kind: 'receipt', leaseId: 'a' }, { kind: 'settle', leaseId: 'a' }]);
    assert.equal(t.settled, true);
    assert.equal(t.settledBy?.contributor, 'mw-a');
  });

  it('neither pays nor rejects a speculative duplicate that finishes second', () => {
    const t = new ShardTally(0, tol);
    t.addLease(lease('a'));
    t.addLease(lease('b'));
    t.output('b', out(1), 'h');
    assert.deepEqual(t.output('a', out(1), 'h'), []);
    assert.equal(t.settledBy?.leaseId, 'b');
  });

  it('waits for the replica, then pays both when they agree within tolerance', () => {
    const t = new ShardTally(0, tol);
    t.addLease(lease('a'));
    t.addLease(lease('r', true));
    assert.deepEqual(t.output('a', out(1, 2), 'h'), []);
    assert.equal(t.settled, false);
    assert.deepEqual(t.output('r', out(1, 2.000001), 'h2'), [
      { kind: 'receipt', leaseId: 'a' },
      { kind: 'receipt', leaseId: 'r' },
      { kind: 'settle', leaseId: 'a' },
    ]);
  });

  it('disputes disagreeing replicas and lets the majority of three win', () => {
    const t = new ShardTally(0, tol);
    t.addLease(lease('a'));
    t.addLease(lease('r', true));
    t.output('a', out(1), 'ha');
    assert.deepEqual(t.output('r', out(7), 'hr'), [{ kind: 'dispute' }]);
    t.addLease(lease('x', true));
    assert.deepEqual(t.output('x', out(7), 'hx'), [
      { kind: 'reject', leaseId: 'a', reason: 'verification-failed' },
      { kind: 'receipt', leaseId: 'r' },
      { kind: 'receipt', leaseId: 'x' },
      { kind: 'settle', leaseId: 'r' },
    ]);
    assert.deepEqual([...new Float32Array(t.outputs![0]!.data)], [7]);
  });

  it('disputes a replica whose best path differs in one class index, at the SDK default tolerance', () => {
    // OCR's recogniser outputs: int64 indices and float32 probabilities. rel 1e-3 would let 5001 pass for 5000.
    const bestPath = (index: bigint): TensorData[] => [
      { name: 'idx', dtype: 'int64', dims: [1, 3], data: BigInt64Array.from([0n, index, 0n]).buffer },
      { name: 'prob', dtype: 'float32', dims: [1, 3], data: Float32Array.from([0.9, 0.8, 0.9]).buffer },
    ];
    const t = new ShardTally(0, { abs: 1e-4, rel: 1e-3 });
    t.addLease(lease('a'));
    t.addLease(lease('r', true));
    t.output('a', bestPath(5000n), 'ha');
    assert.deepEqual(t.output('r', bestPath(5001n), 'hr'), [{ kind: 'dispute' }]);
    t.addLease(lease('x', true));
    assert.deepEqual(t.output('x', bestPath(5000n), 'hx').map((v) => `${v.kind} ${'leaseId' in v ? v.leaseId : ''}`), ['receipt a', 'reject r', 'receipt x', 'settle a']);
    assert.deepEqual([...new BigInt64Array(t.outputs![0]!.data)], [0n, 5000n, 0n]);
  });

  it('checks a replica that shows up after the primary was paid, and re-settles on the majority', () => {
    const t = new ShardTally(0, tol);
    t.addLease(lease('a'));
    assert.equal(t.output('a', out(1), 'ha').length, 2);
    t.addLease(lease('r', true));
    assert.deepEqual(t.output('r', out(2), 'hr'), [{ kind: 'dispute' }]);
    t.addLease(lease('x', true));
    const verdicts = t.output('x', out(2), 'hx');
    assert.deepEqual(verdicts, [{ kind: 'receipt', leaseId: 'r' }, { kind: 'receipt', leaseId: 'x' }, { kind: 'settle', leaseId: 'r' }]);
    assert.equal(t.settledBy?.leaseId, 'r');
  });

  it('rejects every unpaid run when three disagree and waits for more', () => {
    const t = new ShardTally(0, tol, 2);
    for (const id of ['a', 'b', 'c']) t.addLease(lease(id));
    t.output('a', out(1), 'h');
    t.output('b', out(2), 'h');
    const verdicts = t.output('c', out(3), 'h');
    assert.deepEqual(verdicts.map((v) => v.kind), ['reject', 'reject', 'reject']);
    assert.equal(t.settled, false);
    assert.equal(t.disputed, false);
    t.addLease(lease('d', true));
    t.addLease(lease('e', true));
    t.output('d', out(4), 'h');
    assert.deepEqual(t.output('e', out(4), 'h').map((v) => v.kind), ['receipt', 'receipt', 'settle']);
  });

  it('forgets a released run so its replacement is compared instead', () => {
    const t = new ShardTally(0, tol);
    t.expectReplica();
    t.addLease(lease('a'));
    t.addLease(lease('r', true));
    t.output('a', out(5), 'h');
    t.drop('r');
    t.addLease(lease('r2', true));
    assert.deepEqual(t.output('r2', out(5), 'h').map((v) => v.kind), ['receipt', 'receipt', 'settle']);
  });
});

describe('ShardTally with outputs kept by a pipeline stage (hash only)', () => {
  const tol = { abs: 1e-4, rel: 0 };
  const t = (v: number) => [{ name: 'h', dtype: 'float32' as const, dims: [1], data: new Float32Array([v]).buffer }];
  const lease = (leaseId: string, contributor: string) => ({ leaseId, contributor, replica: false, verified: true });

  it('pays two replicas that report the same hash without their outputs', () => {
    const tally = new ShardTally(0, tol);
    tally.addLease(lease('a', 'p1'));
    tally.addLease(lease('b', 'p2'));
    assert.deepEqual(tally.output('a', undefined, 'h1'), []);
    assert.deepEqual(tally.output('b', undefined, 'h1').map((v) => v.kind), ['receipt', 'receipt', 'settle']);
  });

  it('asks for both outputs when the hashes differ, then compares them within the tolerance', () => {
    const tally = new ShardTally(0, tol);
    tally.addLease(lease('a', 'p1'));
    tally.addLease(lease('b', 'p2'));
    tally.output('a', undefined, 'h1');
    assert.deepEqual(tally.output('b', undefined, 'h2'), [{ kind: 'fetch', leaseIds: ['a', 'b'] }]);
    assert.deepEqual(tally.fill('a', t(1)), [{ kind: 'fetch', leaseIds: ['b'] }]);
    assert.deepEqual(tally.fill('b', t(1 + 1e-5)).map((v) => v.kind), ['receipt', 'receipt', 'settle']);
  });

  it('disputes replicas whose fetched outputs differ beyond the tolerance', () => {
    const tally = new ShardTally(0, tol);
    tally.addLease(lease('a', 'p1'));
    tally.addLease(lease('b', 'p2'));
    tally.output('a', t(1), 'h1');
    tally.output('b', undefined, 'h2');
    assert.deepEqual(tally.fill('b', t(2)), [{ kind: 'dispute' }]);
  });
});
