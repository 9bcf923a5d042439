import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '../../src/protocol/errors.ts';
import { shardMaxCost } from '../../src/core/cost.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { collect, contributor, outputHash, runAndPay } from '../testing/peers.ts';

const START = 1000 * 1e6;

describe('market: a job from submission to refund', () => {
  it('assigns, settles each receipt once, refunds the rest and keeps the books balanced', async () => {
    const c = await startTestCoordinator({ feeRate: 0.05 });
    try {
      const worker = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const client = await MeshTestClient.connect(c.url);
      const job = onnxJob({ shards: 3, items: 2, bid: 2 }); // 2000 work units per shard
      const submitted = await client.submit(job);
      const escrow = 3 * 3 * shardMaxCost(2000, 2, 0.05); // three shards, each held for three runs
      assert.equal(submitted.escrow, escrow);
      assert.equal(submitted.status.state, 'running');

      const assigns = await collect(worker, 'assign', 3);
      const assigned = await collect(client, 'assigned', 3);
      assert.deepEqual(assigns.map((a) => a.lease.shard).sort(), [0, 1, 2]);
      assert.deepEqual(new Set(assigned.map((a) => a.lease.leaseId)), new Set(assigns.map((a) => a.lease.leaseId)));
      for (const a of assigns) {
        assert.deepEqual([a.lease.price, a.lease.contributor, a.lease.client], [1, worker.peerId, client.peerId]);
        assert.equal('replica' in a.lease, false, 'a contributor never learns whether its run is checked');
        assert.equal(a.spec.index, a.lease.shard);
        assert.equal(a.kernel.kind, 'onnx');
      }

      const [first, ...rest] = assigns.map((a) => a.lease);
      // A receipt before the contributor claims anything is refused, and pays nothing.
      const early = await client.pay(client.receiptFor(first!, outputHash(first!), 2000)).catch((e) => e as MeshError);
      assert.equal((early as MeshError).code, 'conflict');
      await worker.claim(first!, outputHash(first!));
      const wrongHash = await client.pay(client.receiptFor(first!, outputHash(first!, 'x'), 2000)).catch((e) => e as MeshError);
      assert.equal((wrongHash as MeshError).code, 'hash-mismatch');
      const wrongUnits = await client.pay(client.receiptFor(first!, outputHash(first!), 1999)).catch((e) => e as MeshError);
      assert.equal((wrongUnits as MeshError).code, 'invalid-message');

      const receipt = client.receiptFor(first!, outputHash(first!), 2000);
      assert.deepEqual(await client.pay(receipt), { paid: true, amount: 2000, fee: 100 });
      const credited = await worker.next('credited');
      assert.deepEqual(credited, { type: 'credited', leaseId: first!.leaseId, amount: 2000, balance: START + 2000 });
      assert.equal((await client.next('job')).status.settled, 1);
      // The same receipt again: accepted, not paid twice.
      assert.deepEqual(await client.pay(receipt), { paid: false, amount: 2000, fee: 100 });

      for (const lease of rest) assert.equal((await runAndPay(worker, client, lease, 2000)).paid, true);
      const final = await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      assert.deepEqual(final.type === 'job' && final.status, {
        jobId: submitted.jobId,
        state: 'done',
        shards: 3,
        settled: 3,
        escrow,
        spent: 6000,
        fees: 300,
        refunded: escrow - 6300,
      });
      // A replay after the job is done still pays nothing.
      assert.equal((await client.pay(receipt)).paid, false);

      assert.equal((await worker.request<{ balance: number }>({ type: 'balance' })).balance, START + 6000);
      assert.equal((await client.request<{ balance: number }>({ type: 'balance' })).balance, START - 6300);
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      assert.equal(books.minted, 2 * START);
      assert.equal(books.accounts['fees'], 300);
      assert.equal(c.metrics.get('shards_settled'), 3);

      // A finished job's status is its owner's to read, over the mesh API; HTTP shows no jobs at all.
      assert.equal((await client.request<{ state: string }>({ type: 'job', jobId: submitted.jobId })).state, 'done');
      const stranger = await worker.request({ type: 'job', jobId: submitted.jobId }).catch((e) => e as MeshError);
      assert.equal((stranger as MeshError).code, 'not-found');
      assert.equal((await fetch(`${c.url}/api/jobs/${submitted.jobId}`).then(async (r) => (await r.body?.cancel(), r.status))), 404);
      await Promise.all([worker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('refuses receipts and claims from the wrong peers', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url);
      const client = await MeshTestClient.connect(c.url);
      const stranger = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 1 }));
      const { lease } = await worker.next('assign');
      const hijack = await stranger.claim(lease, outputHash(lease)).catch((e) => e as MeshError);
      assert.equal((hijack as MeshError).code, 'unauthorized');
      await worker.claim(lease, outputHash(lease));
      const notMine = await stranger.pay(stranger.receiptFor(lease, outputHash(lease), 2000)).catch((e) => e as MeshError);
      assert.equal((notMine as MeshError).code, 'unauthorized');
      const wrongPayee = await client.pay({ ...client.receiptFor(lease, outputHash(lease), 2000), contributor: stranger.peerId })
        .catch((e) => e as MeshError);
      assert.equal((wrongPayee as MeshError).code, 'conflict');
      assert.equal((await stranger.request<{ balance: number }>({ type: 'balance' })).balance, START);
      await Promise.all([worker.close(), client.close(), stranger.close()]);
    } finally {
      await c.close();
    }
  });

  it('cancels a job on request: leases revoked, whole escrow refunded', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url);
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 2 }));
      await collect(worker, 'assign', 2);
      const { status } = await client.request<{ status: { state: string; refunded: number; escrow: number } }>({ type: 'cancel', jobId });
      assert.equal(status.state, 'cancelled');
      assert.equal(status.refunded, status.escrow);
      assert.equal((await collect(worker, 'revoke', 2)).length, 2);
      assert.equal((await client.request<{ balance: number }>({ type: 'balance' })).balance, START);
      await Promise.all([worker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });
});
