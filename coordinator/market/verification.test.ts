import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '../../src/protocol/errors.ts';
import { shardMaxCost } from '../../src/core/cost.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';
import { INITIAL_REPUTATION, LOW_REPUTATION } from './contributors.ts';

const START = 1000 * 1e6;

describe('market: verification', () => {
  it('runs a verified shard on two contributors and breaks a disagreement with a third', async () => {
    const c = await startTestCoordinator();
    try {
      const a = await contributor(c.url, { maxConcurrent: 1 });
      const b = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId, escrow } = await client.submit(onnxJob({ shards: 1, verifyFraction: 1 }));
      assert.equal(escrow, 3 * shardMaxCost(2000, 2, 0.05), 'a verified shard holds primary + replica + tie-breaker');
      const [la, lb] = [(await a.next('assign')).lease, (await b.next('assign')).lease];
      assert.deepEqual([la.shard, lb.shard], [0, 0]);
      assert.deepEqual([la.replica, lb.replica].sort(), [false, true]);

      const dispute = await client.request({ type: 'dispute', jobId, shard: 0 }).catch((e) => e as MeshError);
      assert.equal((dispute as MeshError).code, 'conflict', 'nothing to compare before two results');
      await a.claim(la, outputHash(la));
      await b.claim(lb, outputHash(lb, 'wrong'));
      const tieBreaker = await contributor(c.url, { maxConcurrent: 1 });
      assert.deepEqual(await client.request({ type: 'dispute', jobId, shard: 0 }), { runs: 3 });
      const lc = (await tieBreaker.next('assign')).lease;
      assert.deepEqual([lc.shard, lc.replica], [0, true]);
      await tieBreaker.claim(lc, outputHash(lc));

      await client.pay(client.receiptFor(la, outputHash(la), 2000));
      await client.pay(client.receiptFor(lc, outputHash(lc), 2000));
      assert.deepEqual(await client.request({ type: 'reject', jobId, shard: 0, leaseId: lb.leaseId, reason: 'verification-failed' }), { released: true });
      const done = await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      assert.equal(done.type === 'job' && done.status.refunded, escrow - 2 * 2100);

      assert.equal(await c.ledger.balance(`peer:${b.peerId}`), START, 'the loser is never credited');
      assert.equal(await c.ledger.balance(`peer:${a.peerId}`), START + 2000);
      assert.ok(c.market.registry.reputation(b.peerId) < LOW_REPUTATION);
      assert.ok(c.market.registry.reputation(a.peerId) > INITIAL_REPUTATION);
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.all([a.close(), b.close(), tieBreaker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('requeues a rejected run on another contributor without paying the rejected one', async () => {
    const c = await startTestCoordinator();
    try {
      const cheap = await contributor(c.url, { askPrice: 1 });
      const dear = await contributor(c.url, { askPrice: 2 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 1, bid: 2 }));
      const first = (await cheap.next('assign')).lease;
      await cheap.claim(first, outputHash(first, 'garbage'));
      await client.request({ type: 'reject', jobId, shard: 0, leaseId: first.leaseId, reason: 'bad-output' });
      assert.equal((await cheap.next('revoke')).leaseId, first.leaseId);
      assert.equal((await client.next('released')).reason, 'rejected: bad-output');
      const second = (await dear.next('assign')).lease;
      assert.equal(second.price, 2);
      await dear.claim(second, outputHash(second));
      assert.deepEqual(await client.pay(client.receiptFor(second, outputHash(second), 2000)), { paid: true, amount: 4000, fee: 200 });
      assert.equal(await c.ledger.balance(`peer:${cheap.peerId}`), START);
      await Promise.all([cheap.close(), dear.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('replicates the primary run of a low-reputation contributor when the escrow has headroom', async () => {
    const c = await startTestCoordinator();
    try {
      const shady = await contributor(c.url, { askPrice: 0, maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      const first = await client.submit(onnxJob({ shards: 1 }));
      const bad = (await shady.next('assign')).lease;
      await shady.claim(bad, outputHash(bad, 'garbage'));
      await client.request({ type: 'reject', jobId: first.jobId, shard: 0, leaseId: bad.leaseId, reason: 'bad-output' });
      await client.request({ type: 'cancel', jobId: first.jobId });
      assert.ok(c.market.registry.reputation(shady.peerId) < LOW_REPUTATION);

      const honest = await contributor(c.url, { askPrice: 1, maxConcurrent: 1 });
      await client.submit(onnxJob({ shards: 1, verifyFraction: 0 }));
      const primary = (await shady.next('assign')).lease;
      const replica = (await honest.next('assign')).lease;
      assert.deepEqual([primary.replica, replica.replica, replica.shard], [false, true, 0]);
      await Promise.all([shady.close(), honest.close(), client.close()]);
    } finally {
      await c.close();
    }
  });
});
