/**
 * What peers report about leases, and the money that follows. The mesh session has already checked each
 * frame's shape and signature; these functions check it against the market's state:
 * - a contributor's result claim must come from the lease holder while the lease is in flight;
 * - a client's receipt must match the lease (contributor, shard, work units) and the claimed output hash,
 *   then pays from escrow once per receipt id (`jobId:shard:leaseId`), however often it is sent;
 * - a client's reject ends a lease unpaid and lowers the contributor's reputation;
 * - a client's dispute (replicas disagree) adds one tie-breaking run on a third contributor.
 */
import type { ClientFrameOf, Receipt, ResultClaim } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { settlementFor } from '../../src/core/cost.ts';
import type { Market } from './market.ts';
import type { Job, Run } from './job.ts';

/** Disputes allowed per shard: one tie-breaker, which the escrow of a verified shard already covers. */
export const MAX_DISPUTES = 1;

/** Result of a receipt. */
export interface ReceiptResult {
  paid: boolean;
  amount: number;
  fee: number;
}

/** Records a contributor's claim that it produced `outputHash` for a lease it holds. */
export function claimResult(m: Market, peerId: string, claim: ResultClaim): { accepted: boolean; duplicate: boolean } {
  const ref = m.lease(claim.leaseId);
  if (!ref) throw new MeshError('lease-expired', `Cannot claim lease ${claim.leaseId} as it is not in flight: it expired, was released or settled`);
  const { job, shard, run } = ref;
  if (run.lease.contributor !== peerId) throw new MeshError('unauthorized', `Cannot claim lease ${claim.leaseId} as it is held by another contributor`);
  if (job.jobId !== claim.jobId || shard !== claim.shard) {
    throw new MeshError('invalid-message', `Cannot claim lease ${claim.leaseId} for job ${claim.jobId} shard ${claim.shard}: it is for job ${job.jobId} shard ${shard}`);
  }
  if (run.claim) {
    if (run.claim.outputHash === claim.outputHash) return { accepted: true, duplicate: true };
    throw new MeshError('conflict', `Cannot claim lease ${claim.leaseId} again with another output hash: claimed ${run.claim.outputHash}`);
  }
  const now = Date.now();
  run.claim = { outputHash: claim.outputHash, at: now };
  // The work is done: the lease no longer expires nor counts against the contributor's capacity.
  clearTimeout(run.timer);
  m.registry.get(peerId)?.leases.delete(claim.leaseId);
  m.registry.recordSpeed(peerId, job.shards[shard]!.spec.workUnits, now - run.startedAt);
  m.schedule();
  return { accepted: true, duplicate: false };
}

/** Pays a receipt signed by the job's client (signature verified by the caller). */
export async function payReceipt(m: Market, client: string, receipt: Receipt, signature: string): Promise<ReceiptResult> {
  const job = m.clientJob(client, receipt.jobId);
  const s = job.shards[receipt.shard];
  if (!s) throw new MeshError('not-found', `Cannot settle shard ${receipt.shard} of job ${job.jobId} as it has ${job.shards.length} shards`);
  const paidRun = s.settled.get(receipt.leaseId);
  const run = paidRun ?? s.active.get(receipt.leaseId);
  if (!run) {
    throw new MeshError('not-found', `Cannot settle lease ${receipt.leaseId} of job ${job.jobId} shard ${receipt.shard} as it is not in flight: it expired, was released or never existed`);
  }
  checkTerms(job, run, receipt);
  if (!paidRun) {
    if (job.state !== 'running') throw new MeshError('conflict', `Cannot settle lease ${receipt.leaseId} as job ${job.jobId} is ${job.state}`);
    if (run.settling) {
      await run.settling.catch(() => undefined);
      return payReceipt(m, client, receipt, signature);
    }
  }
  const { amount, fee } = settlementFor(receipt.workUnits, run.lease.price, job.feeRate);
  const settle = m.deps.ledger.settle({
    receiptId: `${job.jobId}:${receipt.shard}:${receipt.leaseId}`,
    jobId: job.jobId,
    contributor: receipt.contributor,
    amount,
    fee,
    evidence: { receipt, signature },
  });
  m.deps.metrics.inc('ledger_ops', 'settle');
  if (paidRun) return { paid: (await settle).paid, amount, fee };
  run.settling = settle;
  job.inflight.add(settle);
  let result: { paid: boolean; contributorBalance: number };
  try {
    result = await settle;
  } finally {
    delete run.settling;
    job.inflight.delete(settle);
  }
  if (result.paid) m.settled(job, receipt.shard, run, amount, fee, result.contributorBalance);
  return { paid: result.paid, amount, fee };
}

/** Ends a lease unpaid because the client found its output wrong or never got it. */
export function rejectRun(m: Market, client: string, f: ClientFrameOf<'reject'>): { released: boolean } {
  const job = m.clientJob(client, f.jobId);
  const ref = m.lease(f.leaseId);
  if (!ref || ref.job !== job || ref.shard !== f.shard) {
    throw new MeshError('not-found', `Cannot reject lease ${f.leaseId} of job ${f.jobId} shard ${f.shard} as it is not in flight`);
  }
  if (ref.run.settling) throw new MeshError('conflict', `Cannot reject lease ${f.leaseId} as a receipt for it is being paid`);
  const s = job.shards[f.shard]!;
  const contributor = ref.run.lease.contributor;
  const wrong = f.reason !== 'transfer-failed';
  m.registry.penalize(contributor, wrong ? 'severe' : 'mild');
  if (wrong) s.rejected.add(contributor);
  // The tie-breaker of a dispute took the loser's place: its slot goes with the dispute.
  const dropSlot = f.reason === 'verification-failed' && s.disputes > 0;
  if (dropSlot) s.disputes--;
  m.deps.log.info('run rejected', { jobId: job.jobId, shard: f.shard, leaseId: f.leaseId, contributor, reason: f.reason });
  return { released: m.release(f.leaseId, `rejected: ${f.reason}`, true, dropSlot) };
}

/** Adds a tie-breaking run to a shard whose replicated outputs disagree. */
export async function disputeShard(m: Market, client: string, jobId: string, shard: number): Promise<{ runs: number }> {
  const job = m.clientJob(client, jobId);
  const s = job.shards[shard];
  if (!s) throw new MeshError('not-found', `Cannot dispute shard ${shard} of job ${jobId} as it has ${job.shards.length} shards`);
  if (job.state !== 'running') throw new MeshError('conflict', `Cannot dispute shard ${shard} as job ${jobId} is ${job.state}`);
  const results = s.settled.size + [...s.active.values()].filter((r) => r.claim).length;
  if (results < 2) throw new MeshError('conflict', `Cannot dispute shard ${shard} of job ${jobId} as it needs two results to compare: current count is ${results}`);
  if (s.disputes >= MAX_DISPUTES) throw new MeshError('conflict', `Cannot dispute shard ${shard} of job ${jobId} again: it already has a tie-breaker`);
  const cost = job.bidCost(shard);
  if (job.headroom < cost) {
    // Only a shard replicated by adaptive replication lacks tie-breaker funds; hold them now.
    const extra = cost - job.headroom;
    await m.deps.ledger.hold(jobId, client, extra);
    m.deps.metrics.inc('ledger_ops', 'hold');
    job.escrow += extra;
    if (job.state !== 'running' || s.disputes >= MAX_DISPUTES) return { runs: job.slots(shard) };
  }
  s.disputes++;
  job.committed += cost;
  m.shardChanged(job, shard);
  return { runs: job.slots(shard) };
}

function checkTerms(job: Job, run: Run, receipt: Receipt): void {
  const where = `lease ${receipt.leaseId} of job ${job.jobId}`;
  if (run.lease.shard !== receipt.shard) throw new MeshError('invalid-message', `Cannot settle ${where} as it is for shard ${run.lease.shard}: receipt names shard ${receipt.shard}`);
  if (run.lease.contributor !== receipt.contributor) {
    throw new MeshError('conflict', `Cannot settle ${where} as it is held by ${run.lease.contributor}: receipt names ${receipt.contributor}`);
  }
  const units = job.shards[receipt.shard]!.spec.workUnits;
  if (receipt.workUnits !== units) {
    throw new MeshError('invalid-message', `Cannot settle ${where} as 'receipt.workUnits' must equal the shard's ${units}: current value is ${receipt.workUnits}`);
  }
  if (!run.claim) throw new MeshError('conflict', `Cannot settle ${where} as its contributor has not claimed a result yet`);
  if (run.claim.outputHash !== receipt.outputHash) {
    throw new MeshError('hash-mismatch', `Cannot settle ${where} as 'receipt.outputHash' differs from the contributor's claimed ${run.claim.outputHash}: current value is ${receipt.outputHash}`);
  }
}
