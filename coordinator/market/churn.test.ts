import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '../../src/protocol/errors.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { collect, contributor, outputHash, runAndPay } from '../testing/peers.ts';

const START = 1000 * 1e6;

describe('market: churn', () => {
  it('releases a leaving contributor\'s leases and reassigns them; the leaver is never credited', async () => {
    const c = await startTestCoordinator();
    try {
      const leaver = await contributor(c.url, { maxConcurrent: 3 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 3 }));
      const first = await collect(leaver, 'assign', 3);
      const stayer = await contributor(c.url, { maxConcurrent: 3 });
      await leaver.close();

      const released = await collect(client, 'released', 3);
      assert.deepEqual(new Set(released.map((r) => r.leaseId)), new Set(first.map((a) => a.lease.leaseId)));
      assert.ok(released.every((r) => r.reason === 'contributor left'));
      const second = await collect(stayer, 'assign', 3);
      assert.deepEqual(second.map((a) => a.lease.shard).sort(), [0, 1, 2]);

      // The leaver's old lease cannot be paid: it is no longer in flight.
      const old = first[0]!.lease;
      const stale = await client.pay(client.receiptFor(old, outputHash(old), 2000)).catch((e) => e as MeshError);
      assert.equal((stale as MeshError).code, 'not-found');
      for (const a of second) await runAndPay(stayer, client, a.lease, 2000);
      await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');

      assert.equal(await c.ledger.spendable(leaver.peerId), START);
      assert.equal(await c.ledger.spendable(stayer.peerId), START + 6000);
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.all([stayer.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('requeues a shard whose lease expires and refuses a claim on the expired lease', async () => {
    const c = await startTestCoordinator({ leaseMs: 300 });
    try {
      const slow = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 1 }));
      const { lease } = await slow.next('assign');
      const revoke = await slow.next('revoke', 3000);
      assert.deepEqual([revoke.leaseId, revoke.reason], [lease.leaseId, 'lease expired']);
      const released = await client.next('released');
      assert.deepEqual([released.leaseId, released.reason], [lease.leaseId, 'lease expired']);
      const late = await slow.claim(lease, outputHash(lease)).catch((e) => e as MeshError);
      assert.equal((late as MeshError).code, 'lease-expired');
      // Queued again: the only contributor gets a fresh lease for the same shard.
      const again = await slow.next('assign', 3000);
      assert.equal(again.lease.shard, 0);
      assert.notEqual(again.lease.leaseId, lease.leaseId);
      assert.equal((await runAndPay(slow, client, again.lease, 2000)).paid, true);
      await Promise.all([slow.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('keeps a claimed lease payable after its expiry time and after its contributor leaves', async () => {
    const c = await startTestCoordinator({ leaseMs: 200 });
    try {
      const worker = await contributor(c.url);
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 1 }));
      const { lease } = await worker.next('assign');
      await worker.claim(lease, outputHash(lease));
      await worker.close();
      // The client is told at once that the claimant left, so it need not wait for outputs that never come.
      assert.equal((await client.next('peer-left')).peerId, worker.peerId);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await client.pay(client.receiptFor(lease, outputHash(lease), 2000))).paid, true);
      assert.equal(await c.ledger.spendable(worker.peerId), START + 2000);
      await client.close();
    } finally {
      await c.close();
    }
  });

  it('releases leases when a contributor pauses and assigns again when it resumes', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url, { maxConcurrent: 2 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 2 }));
      await collect(worker, 'assign', 2);
      assert.deepEqual(await worker.request({ type: 'state', state: 'paused' }), { state: 'paused' });
      assert.equal((await collect(worker, 'revoke', 2)).length, 2);
      assert.equal((await collect(client, 'released', 2)).every((r) => r.reason === 'contributor paused'), true);
      const stats = await (await fetch(`${c.url}/api/stats`)).json();
      assert.deepEqual(stats, { contributors: 1, active: 0, jobs: 1, peers: 0 });
      await worker.request({ type: 'state', state: 'active' });
      assert.equal((await collect(worker, 'assign', 2)).length, 2);
      await Promise.all([worker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('expires a job at its deadline: state expired, leases revoked, escrow refunded', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId, escrow } = await client.submit(onnxJob({ shards: 2, deadlineMs: 1000 }));
      const { lease } = await worker.next('assign');
      assert.equal((await runAndPay(worker, client, lease, 2000)).paid, true);
      await worker.next('assign'); // the second shard, never finished
      const end = await client.inbox.next((f) => f.type === 'job' && f.status.state !== 'running', 'job end', 3000);
      assert.deepEqual(end.type === 'job' && [end.status.state, end.status.settled, end.status.refunded], ['expired', 1, escrow - 2100]);
      assert.equal((await worker.next('revoke')).reason, 'job expired');
      assert.equal(c.market.peek(jobId)?.state, 'expired');
      assert.equal(await c.ledger.balance(`escrow:${jobId}`), 0);
      await Promise.all([worker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('releases the leases of a contributor that unregisters and stops matching it', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 1 }));
      const { lease } = await worker.next('assign');
      assert.deepEqual(await worker.request({ type: 'unregister' }), { unregistered: true });
      assert.equal((await worker.next('revoke')).leaseId, lease.leaseId);
      assert.equal((await client.next('released')).reason, 'contributor unregistered');
      assert.equal(c.market.registry.size, 0);
      await Promise.all([worker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('cancels a client\'s running jobs and refunds them when its session ends', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url);
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 2 }));
      await collect(worker, 'assign', 2);
      await client.close();
      assert.equal((await collect(worker, 'revoke', 2)).every((r) => r.reason === 'job cancelled'), true);
      for (let i = 0; i < 50 && !c.market.peek(jobId)?.refunded; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(c.market.peek(jobId)?.state, 'cancelled');
      assert.equal(await c.ledger.spendable(client.peerId), START);
      await worker.close();
    } finally {
      await c.close();
    }
  });
});
