/**
 * Ending jobs. A job that ends (done, cancelled, expired, failed, client gone) has its unclaimed leases revoked,
 * its claimed runs paid, its payments awaited, the rest of its escrow refunded, and its client told. At shutdown
 * the jobs that stay (to resume from the store) only lose their timers.
 */
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import type { Logger } from '../log.ts';
import type { JobBook } from './book.ts';
import type { InFlight } from './in-flight.ts';
import type { FinalState, Job } from './job.ts';
import type { Payments } from './payments.ts';
import type { MarketPersistence } from './persistence.ts';

/** What ending a job needs. */
export interface JobEndDeps {
  book: JobBook;
  runs: InFlight;
  payments: Payments;
  persist: MarketPersistence | undefined;
  log: Logger;
  notify: (peerId: string, frame: ServerFrame) => boolean;
  schedule(): void;
  /** A job ended (pipelines.ts ends the rest of its pipeline). */
  ended?(job: Job, state: FinalState): void;
}

/** Ends a running job in `state`: revokes its leases, pays claimed runs, waits for payments, refunds the rest. */
export async function endJob(d: JobEndDeps, job: Job, state: FinalState): Promise<void> {
  if (job.state !== 'running') return;
  job.state = state;
  clearTimeout(job.deadlineTimer);
  d.book.finish(job);
  d.ended?.(job, state);
  job.shards.forEach((s, i) => {
    for (const run of [...s.runs]) {
      if (run.state === 'leased') {
        d.runs.forget({ job, shard: i, run });
        job.release(i, run);
        d.notify(run.lease.contributor, { type: 'revoke', leaseId: run.lease.leaseId, reason: `job ${state}` });
      } else if (run.state === 'claimed' || run.state === 'contested') {
        void d.payments.pay(job, i, run, 'job-end');
      }
    }
  });
  while (job.inflight.size > 0) await Promise.allSettled([...job.inflight]);
  await d.payments.refund(job);
  await d.persist?.ended(job);
  d.log.info('job finished', { ...job.status() });
  d.notify(job.client, { type: 'job', status: job.status() });
  d.schedule();
}

/** Clears the timers of jobs left running at shutdown, once their payments in flight landed. */
export async function quiesce(jobs: Iterable<Job>): Promise<void> {
  for (const job of jobs) {
    clearTimeout(job.deadlineTimer);
    await Promise.allSettled([...job.inflight]);
    for (const s of job.shards) {
      for (const r of s.runs) {
        clearTimeout(r.timer);
        clearTimeout(r.holdTimer);
      }
    }
  }
}
