// The result cache's frames: the lease of an `assign` push a contributor acts on (its `cached` output hash names
// what it reads from its store), the `evicted` report and the `not-cached` failure. What a hostile sender can put
// in them is refused before anything reads the store or the coordinator's index.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_EVICTED, parseClientFrame, parseContributorLease } from './coordinator.ts';

const hash = 'b'.repeat(64);
const peer = 'mw' + '1'.repeat(40);
const lease = { leaseId: 'l-1', jobId: 'j-1', shard: 3, client: peer, contributor: 'mw' + '2'.repeat(40), price: 20, expiresAt: 1_700_000_000_000 };

describe('result cache frames', () => {
  it('parseContributorLease() accepts a lease with and without a cached output hash, other fields passing through', () => {
    assert.equal(parseContributorLease(lease).cached, undefined);
    assert.equal(parseContributorLease({ ...lease, cached: hash }).cached, hash);
    assert.equal((parseContributorLease({ ...lease, later: 1 }) as Record<string, unknown>).later, 1);
  });

  it('parseContributorLease() refuses a cached value that is not a SHA-256, and malformed fields the runner uses', () => {
    for (const cached of ['../../etc', hash.toUpperCase(), hash + '0', 'x'.repeat(100_000), 42, null, { $gt: '' }]) {
      assert.throws(() => parseContributorLease({ ...lease, cached }), /'cached'/, `cached ${String(cached).slice(0, 20)}`);
    }
    assert.throws(() => parseContributorLease({ ...lease, expiresAt: 'soon' }), /'expiresAt'/);
    assert.throws(() => parseContributorLease({ ...lease, shard: -1 }), /'shard'/);
    assert.throws(() => parseContributorLease({ ...lease, leaseId: 'a/b' }), /'leaseId'/);
    assert.throws(() => parseContributorLease({ ...lease, client: 'bad id!' }), /'client'/);
    assert.throws(() => parseContributorLease([lease]), /expected/);
  });

  it("parseClientFrame() bounds 'evicted' to 1..MAX_EVICTED SHA-256 hashes and no other field", () => {
    assert.deepEqual(parseClientFrame({ type: 'evicted', rid: 1, outputs: [hash] }), { type: 'evicted', rid: 1, outputs: [hash] });
    assert.throws(() => parseClientFrame({ type: 'evicted', rid: 1, outputs: [] }), /'outputs'/);
    assert.throws(() => parseClientFrame({ type: 'evicted', rid: 1, outputs: Array(MAX_EVICTED + 1).fill(hash) }), /'outputs'/);
    assert.throws(() => parseClientFrame({ type: 'evicted', rid: 1, outputs: ['nope'] }), /'outputs\[0\]'/);
    assert.throws(() => parseClientFrame({ type: 'evicted', rid: 1, outputs: [hash], holder: peer }), /holder/);
  });

  it("parseClientFrame() takes 'not-cached' as a lease failure", () => {
    const f = parseClientFrame({ type: 'fail', rid: 2, jobId: 'j', shard: 0, leaseId: 'l', reason: 'not-cached' });
    assert.equal(f.type === 'fail' && f.reason, 'not-cached');
  });
});
