/**
 * Speculation through a running coordinator: it starts only once every shard of a job is placed, the books
 * balance to the micro-credit whichever run of a pair claims first, and a revoked duplicate's holder is refused
 * clearly whatever it sends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContributorLease, JobDetail } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { RunningCoordinator } from '../server.ts';
import { eventually, sleep, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';

const WORK = 1000;

/** The ledger's invariant (nothing made or lost but minted grants) and the job's own account. */
async function exact(c: RunningCoordinator, jobId: string, escrow: number): Promise<void> {
  const s = await c.ledger.summary();
  assert.equal(s.total, s.minted, 'the books balance');
  assert.equal(await c.ledger.balance(`escrow:${jobId}`), 0, 'the escrow is empty once the job ended');
  const st = c.market.peek(jobId)!;
  assert.equal(st.spent + st.fees + st.refunded, escrow, 'every micro-credit of the escrow is paid, a fee or refunded');
}

/** A 4-shard job whose shard on `slow` stalls while `fast` runs the other three (claimed and paid). */
async function tail(c: RunningCoordinator) {
  const slow = await contributor(c.url, { maxConcurrent: 1, askPrice: 1 });
  const client = await MeshTestClient.connect(c.url);
  const before = await c.ledger.spendable(client.peerId);
  const slowStart = await c.ledger.spendable(slow.peerId);
  const submitted = await client.submit(onnxJob({ shards: 4, items: 1, bid: 2 }));
  const stalled = (await slow.next('assign')).lease;
  const fast = await contributor(c.url, { maxConcurrent: 4, askPrice: 1 });
  const fastStart = await c.ledger.spendable(fast.peerId);
  let fastEarned = 0;
  for (let k = 0; k < 3; k++) {
    const { lease } = await fast.next('assign');
    await fast.claim(lease, outputHash(lease));
    fastEarned += (await client.pay(client.receiptFor(lease, outputHash(lease), WORK))).amount;
    assert.equal((await fast.next('credited')).leaseId, lease.leaseId);
  }
  const dup = (await fast.next('assign', 3000)).lease;
  assert.equal(dup.shard, stalled.shard);
  return { slow, fast, client, stalled, dup, before, fastEarned, earned: { slow: () => c.ledger.spendable(slow.peerId).then((v) => v - slowStart), fast: () => c.ledger.spendable(fast.peerId).then((v) => v - fastStart) }, ...submitted };
}

/** While both runs of the pair are leased, the job commits exactly both at their price plus what the rest can cost. */
function committedCoversBoth(c: RunningCoordinator, jobId: string, shard: number): void {
  const job = c.market.job(jobId)!;
  const s = job.shards[shard]!;
  assert.equal(s.runs.filter((r) => r.state === 'leased').length, 2, 'straggler and duplicate both leased');
  const both = s.runs.reduce((n, r) => {
    const { amount, fee } = job.runCost(shard, r.lease);
    return n + amount + fee;
  }, 0);
  assert.equal(s.committed, both, 'the shard commits both runs of the pair, no open slot');
  assert.ok(job.committed <= job.escrow, `committed ${job.committed} within escrow ${job.escrow}`);
}

describe('market: speculation waits until every shard is placed', () => {
  it('a free, measured contributor gets no duplicate while a shard waits for a run, and gets it once that shard is placed', async () => {
    const c = await startTestCoordinator({ failureBackoffMs: [60_000] });
    try {
      const slow = await contributor(c.url, { maxConcurrent: 1, askPrice: 1 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 6, items: 1, bid: 2 }));
      const stalled = (await slow.next('assign')).lease;
      const fast = await contributor(c.url, { maxConcurrent: 4, askPrice: 1 });
      const first: ContributorLease[] = [];
      for (let k = 0; k < 4; k++) first.push((await fast.next('assign')).lease);
      // Failing one keeps `fast` off that shard for a minute: it stays pending while `fast` has free slots.
      const failed = first.pop()!;
      await fast.fail(failed, 'worker-crashed');
      const fifth = (await fast.next('assign')).lease; // the last unplaced shard fills the freed slot
      for (const lease of first) {
        await fast.claim(lease, outputHash(lease));
        await client.pay(client.receiptFor(lease, outputHash(lease), WORK));
      }
      const job = c.market.job(jobId)!;
      assert.deepEqual([...job.pending], [failed.shard], 'one shard waits for a run');
      await sleep(400); // far past twice the median run time (a few ms)
      assert.equal(c.metrics.get('speculative_runs'), 0, 'no duplicate while a shard waits');
      await assert.rejects(fast.next('assign', 200), 'the free contributor was offered nothing');

      const late = await contributor(c.url, { maxConcurrent: 1, askPrice: 1 });
      assert.equal((await late.next('assign')).lease.shard, failed.shard, 'the waiting shard is placed');
      const dup = (await fast.next('assign', 3000)).lease;
      assert.equal(dup.shard, stalled.shard, 'then the stalled shard is duplicated onto the free, measured contributor');
      assert.notEqual(dup.shard, fifth.shard, "never a duplicate of fast's own lease");
      assert.ok(c.metrics.get('speculative_runs') >= 1);
    } finally {
      await c.close();
    }
  });
});

describe('market: a speculative pair settles exactly once', () => {
  for (const order of ['duplicate first', 'straggler first'] as const) {
    it(`${order}: the loser is never paid and the ledger balances to the micro-credit`, async () => {
      const c = await startTestCoordinator();
      try {
        const { slow, fast, client, stalled, dup, before, fastEarned, earned, jobId, escrow } = await tail(c);
        committedCoversBoth(c, jobId, stalled.shard);
        const [winner, loser, winnerPeer, loserPeer] = order === 'duplicate first' ? [dup, stalled, fast, slow] : [stalled, dup, slow, fast];
        await winnerPeer.claim(winner, outputHash(winner));
        assert.equal((await loserPeer.next('revoke')).leaseId, loser.leaseId, 'the other run is revoked');
        const paid = await client.pay(client.receiptFor(winner, outputHash(winner), WORK));
        assert.equal(paid.paid, true);
        await eventually('job done', () => c.market.peek(jobId)?.state === 'done');
        await exact(c, jobId, escrow);
        const st = c.market.peek(jobId)!;
        assert.equal(st.spent, fastEarned + paid.amount, 'four shards, four payments');
        assert.equal(await c.ledger.spendable(client.peerId), before - st.spent - st.fees, 'the client paid exactly what the job spent plus fees');
        const slowEarned = await earned.slow();
        const fastBalance = await earned.fast();
        if (order === 'duplicate first') {
          assert.equal(slowEarned, 0, 'the revoked straggler earned nothing');
          assert.equal(fastBalance, fastEarned + paid.amount);
        } else {
          assert.equal(slowEarned, paid.amount, 'the straggler that claimed first earned its run');
          assert.equal(fastBalance, fastEarned, 'the revoked duplicate earned nothing');
        }
        const detail = await client.request<JobDetail>({ type: 'job', jobId, detail: true });
        assert.deepEqual(detail.shards[stalled.shard]!.runs.filter((r) => r.state === 'paid').map((r) => r.leaseId), [winner.leaseId], 'one paid run on the shard');
      } finally {
        await c.close();
      }
    });
  }
});

describe('market: hostile claims for a revoked duplicate', () => {
  it('the revoked holder is refused with lease-expired naming its lease, whatever it sends, and nothing moves', async () => {
    const c = await startTestCoordinator();
    try {
      const { slow, fast, client, stalled, dup, jobId, escrow } = await tail(c);
      await slow.claim(stalled, outputHash(stalled));
      assert.equal((await fast.next('revoke')).leaseId, dup.leaseId);
      const refused = (code: string) => (err: unknown) => {
        assert.ok(err instanceof MeshError, `a MeshError, not ${err}`);
        assert.equal(err.code, code);
        assert.match(err.message, new RegExp(dup.leaseId));
        return true;
      };
      // The same claim, a claim of another output, and one racing a second copy of itself.
      await assert.rejects(fast.claim(dup, outputHash(dup)), refused('lease-expired'));
      await assert.rejects(fast.claim(dup, outputHash(dup, '-forged')), refused('lease-expired'));
      const racing = await Promise.allSettled([fast.claim(dup, outputHash(dup)), fast.claim(dup, outputHash(dup))]);
      assert.ok(racing.every((r) => r.status === 'rejected'));
      // Reporting the lease failed (to cool the winner off, or count a streak) is refused the same way.
      await assert.rejects(fast.fail(dup, 'timeout'), refused('lease-expired'));
      // A receipt for it, even from the job's own client, pays nothing.
      await assert.rejects(client.pay(client.receiptFor(dup, outputHash(dup), WORK)), refused('not-found'));
      // Another contributor claiming the revoked lease in its name is refused too.
      await assert.rejects(slow.claim(dup, outputHash(dup)), refused('lease-expired'));

      const paid = await client.pay(client.receiptFor(stalled, outputHash(stalled), WORK));
      assert.equal(paid.paid, true);
      await eventually('job done', () => c.market.peek(jobId)?.state === 'done');
      await assert.rejects(fast.next('credited', 200), 'no credit for the revoked duplicate');
      await exact(c, jobId, escrow);
      assert.ok(c.market.registry.get(fast.peerId)!.state === 'active', 'the refusals counted no failure against the holder');
    } finally {
      await c.close();
    }
  });
});
