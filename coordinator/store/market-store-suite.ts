/**
 * The market store's behaviour, as a suite any engine runs (kv/market-store.test.ts, and the PostgreSQL
 * engine's test): jobs written in full and read back with their shards, big specs, batches, ending a job,
 * track records, owners (fenced shard writes, moves, orphans) and the cluster's rows (cluster-suite.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../src/protocol/coordinator.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { clusterSuite } from './cluster-suite.ts';
import type { MarketStore, StoredJob, StoredShard } from './types.ts';

function job(jobId: string, shards: number, owner = '', more: Partial<StoredJob> = {}): StoredJob {
  return { jobId, client: 'mwclient', spec: onnxJob({ shards, items: 1, nonce: `n-${jobId}` }), seq: 7, submittedAt: 1_700_000_000_000, escrow: 12_345, feeRate: 0.05, bytes: 999, sampled: [0, 2], owner, ...more };
}

function shard(leaseId: string, state: StoredShard['runs'][number]['state']): StoredShard {
  const lease: Lease = { leaseId, jobId: 'j1', shard: 1, client: 'mwclient', contributor: 'mwworker', price: 1, expiresAt: 1_700_000_100_000, replica: false, verified: true };
  const run: StoredShard['runs'][number] = { lease, role: 'primary', network: 'loopback:mwworker', startedAt: 1_700_000_000_500, state };
  if (state !== 'leased') run.claim = { outputHash: 'a'.repeat(64), at: 1_700_000_001_000, signature: 'sig' };
  return { verify: true, waived: false, tiebreak: false, done: state === 'paid', barred: ['mwbad'], runs: [run] };
}

/** The lease ids of a job's stored shards, by index. */
async function leases(store: MarketStore, jobId: string): Promise<Record<number, string>> {
  const got = await store.loadJob(jobId);
  assert.ok(got, `job ${jobId} is stored`);
  return Object.fromEntries([...got.shards].map(([i, s]) => [i, s.runs[0]!.lease.leaseId]));
}

async function all(store: MarketStore, owner?: string) {
  const out = [];
  for await (const j of store.runningJobs(owner)) out.push(j);
  return out;
}

/** Runs the suite against stores made by `open` (each test gets a fresh store; `close` disposes of it). */
export function marketStoreSuite(name: string, open: () => Promise<{ store: MarketStore; close(): Promise<void> | void }>): void {
  const withStore = async (fn: (s: MarketStore) => Promise<void>) => {
    const { store, close } = await open();
    try {
      await fn(store);
    } finally {
      await close();
    }
  };

  describe(`market store: ${name}`, () => {
    it('reads back a job with the shards that changed, and its whole spec', () =>
      withStore(async (store) => {
        await store.putJob(job('j1', 5));
        await store.putShards('j1', [[1, shard('l1', 'claimed')], [3, shard('l3', 'leased')]]);
        await store.putShards('j1', [[1, shard('l1', 'paid')]]);
        const [got] = await all(store);
        assert.deepEqual(got!.job, job('j1', 5));
        assert.deepEqual([...got!.shards.keys()].sort(), [1, 3]);
        assert.deepEqual(got!.shards.get(1), shard('l1', 'paid'));
        assert.ok(await store.hasJob('j1'));
      }));

    it('keeps a 10,000-shard spec (megabytes) and writes 2,000 shards in one call', () =>
      withStore(async (store) => {
        await store.putJob(job('big', 10_000));
        await store.putShards('big', Array.from({ length: 2_000 }, (_, i) => [i, shard(`l${i}`, 'leased')] as const));
        const [got] = await all(store);
        assert.equal(got!.job.spec.shards.length, 10_000);
        assert.deepEqual(got!.job.spec, job('big', 10_000).spec);
        assert.equal(got!.shards.size, 2_000);
      }));

    it('forgets an ended job and keeps the others; filters by owner', () =>
      withStore(async (store) => {
        await store.putJob(job('a', 2, 'i1'));
        await store.putJob(job('b', 2, 'i2'));
        await store.putShards('a', [[0, shard('la', 'leased')]]);
        await store.endJob('a');
        assert.equal(await store.hasJob('a'), false);
        assert.deepEqual((await all(store)).map((j) => j.job.jobId), ['b']);
        assert.deepEqual((await all(store, 'i1')).length, 0);
        assert.deepEqual((await all(store, 'i2')).map((j) => j.job.jobId), ['b']);
      }));

    it('reads back a spec as the exact JSON text written: key order, awkward numbers, escapes', () =>
      withStore(async (store) => {
        const j = job('exact', 3);
        j.spec.bid = 0.1 + 0.2;
        j.spec.tolerance = { rel: 1e-7, abs: 5e-324 };
        j.spec.shards[0]!.workUnits = 2 ** 53 - 1;
        j.spec.nonce = 'nul \u0000 quote " backslash \\ line \u2028 emoji \u{1F600}';
        await store.putJob(j);
        const got = await store.loadJob('exact');
        assert.equal(JSON.stringify(got!.job.spec), JSON.stringify(j.spec));
        assert.deepEqual(got!.job, j);
      }));

    it('loadJob() and ownerOf() of an unknown or ended job are undefined', () =>
      withStore(async (store) => {
        assert.equal(await store.loadJob('nope'), undefined);
        assert.equal(await store.ownerOf('nope'), undefined);
        await store.putJob(job('j', 3, 'i1'));
        assert.equal(await store.ownerOf('j'), 'i1');
        assert.deepEqual((await store.loadJob('j'))!.shards.size, 0);
        await store.endJob('j');
        assert.equal(await store.loadJob('j'), undefined);
        assert.equal(await store.ownerOf('j'), undefined);
      }));

    it('putShards() fenced by an owner writes while it owns the job, and nothing once moveJob() gave it away', () =>
      withStore(async (store) => {
        await store.putJob(job('j', 4, 'i1'));
        assert.equal(await store.putShards('j', [[0, shard('a0', 'leased')]], 'i1'), true);
        assert.equal(await store.putShards('j', [[1, shard('x1', 'leased')]], 'i2'), false, 'i2 does not own it');
        assert.equal(await store.moveJob('j', 'i1', 'i2'), true);
        assert.equal(await store.ownerOf('j'), 'i2');
        const stale = Array.from({ length: 1_200 }, (_, i) => [i, shard(`stale${i}`, 'claimed')] as const);
        assert.equal(await store.putShards('j', stale, 'i1'), false, 'i1 lost it');
        assert.equal(await store.putShards('j', [[2, shard('b2', 'leased')]], 'i2'), true);
        assert.equal(await store.putShards('j', [[3, shard('any3', 'leased')]]), true, 'no owner given: any owner');
        assert.equal(await store.putShards('j', [], 'i2'), true);
        assert.equal(await store.putShards('j', [], 'i1'), false);
        assert.deepEqual(await leases(store, 'j'), { 0: 'a0', 2: 'b2', 3: 'any3' });
        assert.equal((await all(store, 'i2')).length, 1);
        assert.equal((await all(store, 'i1')).length, 0);
      }));

    it('moveJob() is a compare-and-set: it fails when the owner differs or the job is gone', () =>
      withStore(async (store) => {
        await store.putJob(job('j', 2, 'i1'));
        assert.equal(await store.moveJob('j', 'i2', 'i3'), false);
        assert.equal(await store.ownerOf('j'), 'i1');
        assert.equal(await store.moveJob('j', 'i1', 'i3'), true);
        assert.equal(await store.moveJob('j', 'i1', 'i2'), false, 'the second of two moves from i1 fails');
        assert.equal(await store.ownerOf('j'), 'i3');
        assert.equal(await store.moveJob('nope', 'i1', 'i2'), false);
        assert.equal(await store.ownerOf('nope'), undefined);
        assert.equal((await store.loadJob('j'))!.job.owner, 'i3');
      }));

    it('putShards() of an unknown or ended job returns false and writes nothing', () =>
      withStore(async (store) => {
        assert.equal(await store.putShards('j', [[0, shard('l0', 'leased')]]), false);
        await store.putJob(job('j', 2));
        await store.endJob('j');
        assert.equal(await store.putShards('j', [[1, shard('l1', 'leased')]], ''), false);
        assert.equal(await store.hasJob('j'), false);
        await store.putJob(job('j', 2));
        assert.deepEqual(await leases(store, 'j'), {});
      }));

    it('jobsOfClient() lists one client\'s jobs whoever owns them, oldest first, at most limit', () =>
      withStore(async (store) => {
        await store.putJob(job('c1', 1, 'i1', { client: 'alice', submittedAt: 30 }));
        await store.putJob(job('c2', 1, 'i2', { client: 'alice', submittedAt: 10 }));
        await store.putJob(job('c3', 1, 'i1', { client: 'alice', submittedAt: 20 }));
        await store.putJob(job('d1', 1, 'i1', { client: 'bob', submittedAt: 5 }));
        assert.deepEqual(await store.jobsOfClient('alice', 10), [
          { jobId: 'c2', client: 'alice', owner: 'i2' },
          { jobId: 'c3', client: 'alice', owner: 'i1' },
          { jobId: 'c1', client: 'alice', owner: 'i1' },
        ]);
        assert.deepEqual((await store.jobsOfClient('alice', 2)).map((j) => j.jobId), ['c2', 'c3']);
        assert.deepEqual(await store.jobsOfClient('alice', 0), []);
        assert.deepEqual(await store.jobsOfClient('carol', 10), []);
        await store.endJob('c2');
        assert.deepEqual((await store.jobsOfClient('alice', 10)).map((j) => j.jobId), ['c3', 'c1']);
        await assert.rejects(store.jobsOfClient('alice', -1), RangeError);
      }));

    it('orphans() lists jobs whose owner is not live, oldest first, at most limit', () =>
      withStore(async (store) => {
        await store.putJob(job('a', 1, 'i1', { submittedAt: 40 }));
        await store.putJob(job('b', 1, 'i2', { submittedAt: 10 }));
        await store.putJob(job('c', 1, 'i3', { submittedAt: 20 }));
        await store.putJob(job('d', 1, '', { submittedAt: 30 }));
        assert.deepEqual(await store.orphans(['i1'], 10), [
          { jobId: 'b', client: 'mwclient', owner: 'i2' },
          { jobId: 'c', client: 'mwclient', owner: 'i3' },
          { jobId: 'd', client: 'mwclient', owner: '' },
        ]);
        assert.deepEqual((await store.orphans(['i1'], 2)).map((j) => j.jobId), ['b', 'c']);
        assert.deepEqual((await store.orphans([], 10)).map((j) => j.jobId), ['b', 'c', 'd', 'a']);
        assert.deepEqual(await store.orphans(['i1', 'i2', 'i3', ''], 10), []);
        assert.deepEqual(await store.orphans(['i1'], 0), []);
        assert.equal(await store.moveJob('b', 'i2', 'i1'), true);
        assert.deepEqual((await store.orphans(['i1'], 10)).map((j) => j.jobId), ['c', 'd']);
        await assert.rejects(store.orphans([], 1.5), RangeError);
      }));

    it('keeps track records', () =>
      withStore(async (store) => {
        const rec = { agreements: 12, failures: 1, recentFailures: 0, quarantinedUntil: 0, paid: 30, speed: 1234.5, seen: 99 };
        await store.putCredibility([['mwa', rec], ['mwb', { ...rec, speed: undefined as unknown as number }]]);
        await store.putCredibility([['mwa', { ...rec, agreements: 13 }]]);
        const got = new Map<string, unknown>();
        for await (const [id, r] of store.credibility()) got.set(id, r);
        assert.equal((got.get('mwa') as { agreements: number }).agreements, 13);
        assert.equal(got.size, 2);
      }));

    clusterSuite(withStore);
  });
}
