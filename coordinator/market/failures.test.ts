import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '../../src/protocol/errors.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';
import { BREAKER_FAILURES, RETRY_CAP } from './failures.ts';

const FAST = [100, 150, 200];

describe('market: failed runs, back-off, circuit breaker and jobs that cannot finish', () => {
  it("a contributor's local fault releases the lease, keeps it off that shard while another takes it, and costs no reputation", async () => {
    const c = await startTestCoordinator({ failureBackoffMs: [60_000] });
    try {
      const broken = await contributor(c.url, { maxConcurrent: 1, askPrice: 1 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 1, items: 1, bid: 2 }));
      const first = await broken.next('assign');
      const before = { ...c.market.credibility.get(broken.peerId) };
      assert.deepEqual(await broken.fail(first.lease, 'device-lost', 'GPUDevice lost: destroyed'), { released: true });
      const released = await client.next('released');
      assert.equal(released.failure, 'device-lost');
      assert.match(released.reason, /device-lost: GPUDevice lost/);
      await assert.rejects(broken.next('assign', 300), 'not offered the same shard again during its cool-off');
      const healthy = await contributor(c.url, { maxConcurrent: 1, askPrice: 1 });
      const second = await healthy.next('assign');
      assert.equal(second.lease.shard, 0);
      await healthy.claim(second.lease, outputHash(second.lease));
      assert.equal((await client.pay(client.receiptFor(second.lease, outputHash(second.lease), 1000))).paid, true);
      assert.equal(c.market.peek(jobId)?.state, 'done');
      assert.deepEqual(c.market.credibility.get(broken.peerId).agreements, before.agreements);
      assert.equal(c.market.credibility.get(broken.peerId).failures, before.failures, 'a local fault is not a wrong result');
    } finally {
      await c.close();
    }
  });

  it(`retries a shard on the same contributor only after its back-off, at most ${RETRY_CAP} times; then the job fails with a typed reason and is refunded`, async () => {
    const c = await startTestCoordinator({ failureBackoffMs: FAST });
    try {
      const only = await contributor(c.url, { maxConcurrent: 1, askPrice: 1 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId, escrow } = await client.submit(onnxJob({ shards: 1, items: 1, bid: 2 }));
      const at: number[] = [];
      for (let k = 0; k < RETRY_CAP; k++) {
        const { lease } = await only.next('assign', 3000);
        at.push(Date.now());
        await only.fail(lease, 'worker-crashed', 'compute worker terminated');
      }
      assert.ok(at[1]! - at[0]! >= FAST[0]! - 20, 'the second try waited out the first back-off');
      assert.ok(at[2]! - at[1]! >= FAST[1]! - 20, 'the third waited out the second');
      const end = await client.inbox.next((f) => f.type === 'job' && f.status.state !== 'running', 'job end', 3000);
      assert.ok(end.type === 'job');
      assert.equal(end.status.state, 'failed');
      assert.equal(end.status.reason?.code, 'no-capable-peer');
      assert.match(end.status.reason!.message, /shard 0.*worker-crashed/);
      assert.equal(end.status.refunded, escrow, 'nothing was paid; everything refunded');
      await assert.rejects(only.next('assign', 400));
      assert.equal(c.market.peek(jobId)?.state, 'failed');
      const s = await c.ledger.summary();
      assert.equal(s.total, s.minted);
    } finally {
      await c.close();
    }
  });

  it(`pauses a contributor after ${BREAKER_FAILURES} failures in a row and tells it why; 'active' lets it work again`, async () => {
    const c = await startTestCoordinator({ failureBackoffMs: [60_000] });
    try {
      const flaky = await contributor(c.url, { maxConcurrent: 8, askPrice: 1 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 8, items: 1, bid: 2 }));
      const leases = [];
      for (let k = 0; k < 8; k++) leases.push((await flaky.next('assign')).lease);
      for (const lease of leases.slice(0, BREAKER_FAILURES - 1)) await flaky.fail(lease, 'out-of-memory');
      assert.equal(c.market.registry.get(flaky.peerId)!.state, 'active');
      await flaky.fail(leases[BREAKER_FAILURES - 1]!, 'out-of-memory');
      const paused = await flaky.next('paused');
      assert.equal(paused.failures, BREAKER_FAILURES);
      assert.match(paused.reason, /out-of-memory/);
      assert.equal(c.market.registry.get(flaky.peerId)!.state, 'paused');
      const revoked = await flaky.next('revoke');
      assert.ok(leases.slice(BREAKER_FAILURES).some((l) => l.leaseId === revoked.leaseId), 'its other leases went back to the queue');
      await flaky.request({ type: 'state', state: 'active' });
      const again = await flaky.next('assign', 3000);
      assert.ok(!leases.slice(0, BREAKER_FAILURES).some((l) => l.shard === again.lease.shard), 'not the shards it failed (cooling off)');
    } finally {
      await c.close();
    }
  });

  it("a job two contributors find wrong ('bad-input') fails at once with their reason", async () => {
    const c = await startTestCoordinator();
    try {
      const a = await contributor(c.url, { maxConcurrent: 1 });
      const b = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 2, items: 1, bid: 2 }));
      const la = (await a.next('assign')).lease;
      const lb = (await b.next('assign')).lease;
      await a.fail(la, 'bad-input', "output 'nope' is not an output of the model");
      await b.fail(lb, 'bad-input', "output 'nope' is not an output of the model");
      const end = await client.inbox.next((f) => f.type === 'job' && f.status.state !== 'running', 'job end', 3000);
      assert.ok(end.type === 'job');
      assert.equal(end.status.state, 'failed');
      assert.equal(end.status.reason?.code, 'invalid-message');
      assert.match(end.status.reason!.message, /output 'nope'/);
    } finally {
      await c.close();
    }
  });

  it('hostile senders: failing a lease of another contributor, a claimed lease or an unknown one is refused; a client rejecting every lease cannot pause a contributor', async () => {
    const c = await startTestCoordinator({ failureBackoffMs: [10] });
    try {
      const honest = await contributor(c.url, { maxConcurrent: 2 });
      const other = await contributor(c.url, { maxConcurrent: 2 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 2, items: 1, bid: 2 }));
      const mine = (await honest.next('assign')).lease;
      const theirs = (await other.next('assign')).lease;
      const stolen = await honest.fail(theirs, 'device-lost').catch((e) => e as MeshError);
      assert.equal((stolen as MeshError).code, 'unauthorized');
      const ghost = await honest.fail({ ...mine, leaseId: 'l0000000' }, 'device-lost').catch((e) => e as MeshError);
      assert.equal((ghost as MeshError).code, 'lease-expired');
      await honest.claim(mine, outputHash(mine));
      const late = await honest.fail(mine, 'timeout').catch((e) => e as MeshError);
      assert.equal((late as MeshError).code, 'conflict', 'a claimed result cannot be withdrawn as a failure');
      // The client rejects every lease of `other`, again and again: `other` is kept off the shard, then barred
      // from it, but never paused (a client must not be able to pause the contributors it dislikes).
      await honest.request({ type: 'state', state: 'paused' });
      let lease = theirs;
      for (let k = 0; k < RETRY_CAP; k++) {
        if (k > 0) lease = (await other.next('assign', 3000)).lease;
        await client.request({ type: 'reject', jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, reason: 'transfer-failed' });
      }
      assert.equal(c.market.registry.get(other.peerId)!.state, 'active');
      await assert.rejects(other.next('paused', 300));
    } finally {
      await c.close();
    }
  });

  it('an expired lease keeps its contributor off the shard a while, without counting towards a pause', async () => {
    const c = await startTestCoordinator({ leaseMs: 150, failureBackoffMs: [400] });
    try {
      const silent = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 1, items: 1, bid: 2 }));
      const first = await silent.next('assign');
      const revoked = await silent.next('revoke', 2000);
      assert.equal(revoked.leaseId, first.lease.leaseId);
      const t = Date.now();
      const again = await silent.next('assign', 3000);
      assert.equal(again.lease.shard, 0);
      assert.ok(Date.now() - t >= 300, 'offered again only after its back-off');
      assert.equal(c.market.registry.get(silent.peerId)!.state, 'active');
    } finally {
      await c.close();
    }
  });
});
