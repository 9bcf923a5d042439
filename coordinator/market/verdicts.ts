/**
 * Applying what a shard's claims prove (verification.ts `judge`) after any change to the shard: reject
 * outvoted runs, credit agreements, pay agreeing runs, add a tie-breaker, and finish the shard (revoking
 * leases it no longer needs and telling the client its verdict). Kept apart from the market's run life
 * cycle so the rules read in one place.
 */
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Credibility } from './credibility.ts';
import type { FinalState, Job, Run } from './job.ts';
import type { PayBasis } from './payout.ts';
import { judge } from './verification.ts';

/** What applying verdicts needs from the market. */
export interface VerdictDeps {
  credibility: Credibility;
  metrics: Metrics;
  log: Logger;
  notify: (peerId: string, frame: ServerFrame) => boolean;
  /** Drops a run from the market's indexes and its contributor's counts. */
  forget: (job: Job, shard: number, run: Run) => void;
  pay: (job: Job, shard: number, run: Run, basis: PayBasis) => Promise<boolean>;
  finishLater: (job: Job, state: FinalState) => void;
  schedule: () => void;
  /** Two agreeing runs verified shard `i` at `hash`; `holders` ran them (the result cache records it). */
  verified?: (job: Job, i: number, hash: string, holders: string[]) => void;
  /** Shard `i` is done on `hash` (a pipeline's next stage takes it as its inputs: market/pipelines.ts). */
  decided?: (job: Job, i: number, hash: string | undefined) => void;
  /** Whether a complete job must stay open (a pipeline stage whose next stage may still need its outputs). */
  holdOpen?: (job: Job) => boolean;
}

/** Judges shard `i` of a running job and acts on the judgement. */
export function applyVerdicts(d: VerdictDeps, job: Job, i: number): void {
  if (job.state !== 'running') return;
  const s = job.shards[i]!;
  const j = judge(s);
  for (const { run, why } of j.reject) if (!run.settling) rejectOnEvidence(d, job, i, run, why);
  if (j.agreedHash !== undefined && s.acceptedHash === undefined) {
    s.acceptedHash = j.agreedHash;
    d.credibility.agreed(j.agreeing);
  }
  for (const run of j.pay) void d.pay(job, i, run, 'agreement');
  if (j.tiebreak) job.addTiebreak(i);
  if (j.done && !s.done) finishShard(d, job, i, j.agreedHash ?? s.runs.find((r) => r.state === 'paid' && !r.lost)?.claim?.outputHash);
  if (job.pending.has(i)) d.schedule();
}

function finishShard(d: VerdictDeps, job: Job, i: number, hash: string | undefined): void {
  const s = job.shards[i]!;
  job.finishShard(i, hash);
  for (const run of [...s.runs]) {
    if (run.state !== 'leased') continue;
    d.forget(job, i, run);
    job.release(i, run);
    d.notify(run.lease.contributor, { type: 'revoke', leaseId: run.lease.leaseId, reason: 'shard done' });
    d.notify(job.client, { type: 'released', leaseId: run.lease.leaseId, jobId: job.jobId, shard: i, reason: 'shard done' });
  }
  const agreed = s.verify && !s.waived;
  if (agreed && hash !== undefined) {
    const holders = s.runs.filter((r) => r.claim?.outputHash === hash && (r.state === 'claimed' || r.state === 'paid')).map((r) => r.lease.contributor);
    d.verified?.(job, i, hash, holders);
  }
  const fromCache = s.fromCache !== undefined && s.fromCache === hash;
  const verdict: ServerFrame = { type: 'verdict', jobId: job.jobId, shard: i, state: agreed || fromCache ? 'verified' : 'unverified' };
  if (hash !== undefined) verdict.outputHash = hash;
  d.notify(job.client, verdict);
  d.notify(job.client, { type: 'job', status: job.status() });
  d.decided?.(job, i, hash);
  if (job.complete && !d.holdOpen?.(job)) d.finishLater(job, 'done');
}

function rejectOnEvidence(d: VerdictDeps, job: Job, i: number, run: Run, why: 'outvoted' | 'arbitration'): void {
  d.forget(job, i, run);
  job.reject(i, run);
  d.credibility.failed(run.lease.contributor);
  d.metrics.inc('errors', `rejected-${why}`);
  d.log.info('run rejected on evidence', { jobId: job.jobId, shard: i, leaseId: run.lease.leaseId, contributor: run.lease.contributor, why });
  d.notify(job.client, { type: 'released', leaseId: run.lease.leaseId, jobId: job.jobId, shard: i, reason: `rejected: ${why}` });
  d.notify(run.lease.contributor, { type: 'revoke', leaseId: run.lease.leaseId, reason: `rejected: ${why}` });
}

/** No contributor on another network can verify shard `i`: it runs unverified, and the client is told so. */
export function waiveVerification(d: VerdictDeps, job: Job, i: number): void {
  job.waive(i);
  d.log.info('verification waived: no other eligible contributor', { jobId: job.jobId, shard: i });
  d.notify(job.client, { type: 'verdict', jobId: job.jobId, shard: i, state: 'unverified' });
  applyVerdicts(d, job, i);
}
