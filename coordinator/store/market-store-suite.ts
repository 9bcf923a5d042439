/**
 * The market store's behaviour, as a suite any engine runs (kv/market-store.test.ts, and the PostgreSQL
 * engine's test): jobs written in full and read back with their shards, big specs, batches, ending a job,
 * track records, and owners.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../src/protocol/coordinator.ts';
import { onnxJob } from '../testing/fixtures.ts';
import type { MarketStore, StoredJob, StoredShard } from './types.ts';

function job(jobId: string, shards: number, owner = ''): StoredJob {
  return { jobId, client: 'mwclient', spec: onnxJob({ shards, items: 1, nonce: `n-${jobId}` }), seq: 7, submittedAt: 1_700_000_000_000, escrow: 12_345, feeRate: 0.05, bytes: 999, sampled: [0, 2], owner };
}

function shard(leaseId: string, state: StoredShard['runs'][number]['state']): StoredShard {
  const lease: Lease = { leaseId, jobId: 'j1', shard: 1, client: 'mwclient', contributor: 'mwworker', price: 1, expiresAt: 1_700_000_100_000, replica: false, verified: true };
  const run: StoredShard['runs'][number] = { lease, role: 'primary', network: 'loopback:mwworker', startedAt: 1_700_000_000_500, state };
  if (state !== 'leased') run.claim = { outputHash: 'a'.repeat(64), at: 1_700_000_001_000, signature: 'sig' };
  return { verify: true, waived: false, tiebreak: false, done: state === 'paid', barred: ['mwbad'], runs: [run] };
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
  });
}
