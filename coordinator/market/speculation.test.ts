import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContributorLease } from '../../src/protocol/coordinator.ts';
import type { RunningCoordinator } from '../server.ts';
import { eventually, sleep, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';

const WORK = 1000;

/**
 * A 4-shard job whose last shard sits on `slow` while `fast` runs and is paid for the other three, so the job
 * is in its tail with a measured median run time of a few ms.
 */
async function tail(c: RunningCoordinator) {
  const slow = await contributor(c.url, { maxConcurrent: 1, askPrice: 1 });
  const client = await MeshTestClient.connect(c.url);
  const submitted = await client.submit(onnxJob({ shards: 4, items: 1, bid: 2 }));
  const stalled = (await slow.next('assign')).lease;
  const fast = await contributor(c.url, { maxConcurrent: 4, askPrice: 1 });
  for (let k = 0; k < 3; k++) {
    const { lease } = await fast.next('assign');
    await fast.claim(lease, outputHash(lease));
    await client.pay(client.receiptFor(lease, outputHash(lease), WORK));
  }
  return { slow, fast, client, stalled, ...submitted };
}

async function conserved(c: RunningCoordinator): Promise<void> {
  const s = await c.ledger.summary();
  assert.equal(s.total, s.minted, 'the books balance');
}

function sameShard(a: ContributorLease, b: ContributorLease): void {
  assert.equal(a.jobId, b.jobId);
  assert.equal(a.shard, b.shard);
  assert.notEqual(a.leaseId, b.leaseId);
}

describe('market: speculative duplicates of stragglers', () => {
  it('a straggler in the tail gets a duplicate on another contributor; the first claim wins, the straggler is revoked and never paid', async () => {
    const c = await startTestCoordinator();
    try {
      const { slow, fast, client, stalled, jobId, escrow } = await tail(c);
      const dup = (await fast.next('assign', 3000)).lease;
      sameShard(dup, stalled);
      assert.ok(c.metrics.get('speculative_runs') >= 1);
      await fast.claim(dup, outputHash(dup));
      const revoke = await slow.next('revoke');
      assert.equal(revoke.leaseId, stalled.leaseId);
      assert.match(revoke.reason, /speculative/);
      await assert.rejects(slow.claim(stalled, outputHash(stalled)), /lease-expired|not in flight/, 'the loser cannot claim after the winner');
      const paid = await client.pay(client.receiptFor(dup, outputHash(dup), WORK));
      assert.equal(paid.paid, true);
      await eventually('job done', () => c.market.peek(jobId)?.state === 'done');
      const st = c.market.peek(jobId)!;
      assert.equal(st.spent + st.fees, 4 * (paid.amount + paid.fee), 'four shards, four payments: nothing paid twice');
      assert.equal(st.spent + st.fees + st.refunded, escrow);
      await assert.rejects(slow.next('credited', 300), 'the revoked straggler is not paid');
      await conserved(c);
    } finally {
      await c.close();
    }
  });

  it('when the straggler claims first, the duplicate is revoked and only the straggler is paid', async () => {
    const c = await startTestCoordinator();
    try {
      const { slow, fast, client, stalled, jobId } = await tail(c);
      const dup = (await fast.next('assign', 3000)).lease;
      sameShard(dup, stalled);
      await slow.claim(stalled, outputHash(stalled));
      assert.equal((await fast.next('revoke')).leaseId, dup.leaseId);
      await assert.rejects(fast.claim(dup, outputHash(dup)), /lease-expired|not in flight/);
      const paid = await client.pay(client.receiptFor(stalled, outputHash(stalled), WORK));
      assert.equal(paid.paid, true);
      await eventually('job done', () => c.market.peek(jobId)?.state === 'done');
      assert.equal((await slow.next('credited')).leaseId, stalled.leaseId, 'the straggler that claimed first is paid');
      const st = c.market.peek(jobId)!;
      assert.equal(st.spent, 4 * paid.amount);
      await conserved(c);
    } finally {
      await c.close();
    }
  });

  it('hostile: a contributor that stalls alone is never handed a duplicate of its own lease, and stalling earns nothing extra', async () => {
    const c = await startTestCoordinator();
    try {
      const only = await contributor(c.url, { maxConcurrent: 4, askPrice: 1 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 4, items: 1, bid: 2 }));
      const leases: ContributorLease[] = [];
      for (let k = 0; k < 4; k++) leases.push((await only.next('assign')).lease);
      for (const lease of leases.slice(0, 3)) {
        await only.claim(lease, outputHash(lease));
        await client.pay(client.receiptFor(lease, outputHash(lease), WORK));
      }
      await sleep(300); // far past twice the median run time
      await assert.rejects(only.next('assign', 300), 'no duplicate of its own straggling lease');
      assert.equal(c.metrics.get('speculative_runs'), 0);
      const last = leases[3]!;
      await only.claim(last, outputHash(last));
      const paid = await client.pay(client.receiptFor(last, outputHash(last), WORK));
      await eventually('job done', () => c.market.peek(jobId)?.state === 'done');
      assert.equal(c.market.peek(jobId)!.spent, 4 * paid.amount, 'paid once per shard');
      await conserved(c);
    } finally {
      await c.close();
    }
  });

  it('hostile: a sybil pair gains nothing: the staller, duplicated onto its twin, is paid only if it claims first, and the shard pays once', async () => {
    const c = await startTestCoordinator();
    try {
      const { slow, fast, client, stalled, jobId } = await tail(c);
      const dup = (await fast.next('assign', 3000)).lease;
      // Both try to claim at once: exactly one claim is accepted.
      const results = await Promise.allSettled([slow.claim(stalled, outputHash(stalled)), fast.claim(dup, outputHash(dup))]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one claim of the pair stands');
      const winner = results[0]!.status === 'fulfilled' ? stalled : dup;
      const loser = winner === stalled ? dup : stalled;
      const paid = await client.pay(client.receiptFor(winner, outputHash(winner), WORK));
      assert.equal(paid.paid, true);
      await assert.rejects(client.pay(client.receiptFor(loser, outputHash(loser), WORK)), 'the loser cannot be paid by receipt either');
      await eventually('job done', () => c.market.peek(jobId)?.state === 'done');
      assert.equal(c.market.peek(jobId)!.spent, 4 * paid.amount);
      await conserved(c);
    } finally {
      await c.close();
    }
  });
});
