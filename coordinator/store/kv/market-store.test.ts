import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../../src/protocol/coordinator.ts';
import { onnxJob } from '../../testing/fixtures.ts';
import { marketStoreSuite } from '../market-store-suite.ts';
import type { StoredShard } from '../types.ts';
import { MAX_MUTATIONS } from './_batch.ts';
import { KvMarketStore } from './market-store.ts';

marketStoreSuite('Deno KV', async () => {
  const kv = await Deno.openKv(':memory:');
  return { store: new KvMarketStore(kv), close: () => kv.close() };
});

it('KvMarketStore: a shard write spanning atomics stops at the first atomic after a concurrent moveJob()', async () => {
  const kv = await Deno.openKv(':memory:');
  try {
    const store = new KvMarketStore(kv);
    await store.putJob({ jobId: 'j', client: 'c', spec: onnxJob({ shards: 3 * MAX_MUTATIONS }), seq: 1, submittedAt: 1, escrow: 1, feeRate: 0, bytes: 1, sampled: [], owner: 'i1' });
    const lease: Lease = { leaseId: 'l', jobId: 'j', shard: 0, client: 'c', contributor: 'w', price: 1, expiresAt: 1, replica: false, verified: false };
    const state: StoredShard = { verify: false, waived: false, tiebreak: false, done: false, runs: [{ lease, role: 'primary', network: 'n', startedAt: 0, state: 'leased' }] };
    const shards = Array.from({ length: 3 * MAX_MUTATIONS }, (_, i) => [i, state] as const);
    // The move commits while the write's first atomic is in flight: the atomics after it check a changed header.
    const [wrote, moved] = await Promise.all([store.putShards('j', shards, 'i1'), store.moveJob('j', 'i1', 'i2')]);
    assert.deepEqual({ wrote, moved }, { wrote: false, moved: true });
    const stored = (await store.loadJob('j'))!.shards.size;
    assert.ok(stored < 3 * MAX_MUTATIONS, `shards stored after the move: ${stored}`);
  } finally {
    kv.close();
  }
});
