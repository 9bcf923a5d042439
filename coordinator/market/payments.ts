/**
 * The market's ledger writes: payments queued per job, refunds retried until they land, and receipts that
 * arrive after a job finished. Payments of one job are written one at a time: each checks the job's escrow
 * key, so concurrent ones (a client paying receipts as outputs arrive) would conflict in the ledger and retry,
 * dozens of commits each. A queued run is `settling` at once, so nothing else touches it meanwhile.
 */
import type { Receipt } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { FinishedJob } from './book.ts';
import type { Job, Run } from './job.ts';
import { type PayBasis, payRun, refundJob } from './payout.ts';

/** How often refunds that failed are retried. */
export const REFUND_SWEEP_MS = 10_000;

/** What a payment moved. */
export interface Paid {
  paid: boolean;
  amount: number;
  fee: number;
  balance: number;
}

/** Payments and refunds of the market's jobs. */
export class Payments {
  readonly #queue = new WeakMap<Job, Promise<unknown>>();
  readonly #refunds = new Set<Job>();
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly deps: { ledger: Ledger; metrics: Metrics; log: Logger },
    /** Called after a payment landed (the market updates the job and tells the peers). */
    private readonly onPaid: (job: Job, shard: number, run: Run, paid: Paid) => void,
    /** Called after a refund landed or was given up for now (the market records the job's summary). */
    private readonly onRefunded: (job: Job) => void,
  ) {}

  /** Pays a claimed run once; resolves with whether this call paid it. */
  pay(job: Job, i: number, run: Run, basis: PayBasis): Promise<boolean> {
    if (run.settling) return run.settling;
    if (run.state === 'paid' || run.state === 'rejected' || !run.claim) return Promise.resolve(false);
    const previous = this.#queue.get(job) ?? Promise.resolve();
    const p: Promise<boolean> = previous.then(() => this.#write(job, i, run, basis)).finally(() => {
      delete run.settling;
      job.inflight.delete(p);
    });
    run.settling = p;
    job.inflight.add(p);
    this.#queue.set(job, p.catch(() => false));
    return p;
  }

  /** Refunds what is left of a finished job's escrow; a failure is retried every REFUND_SWEEP_MS. */
  async refund(job: Job): Promise<void> {
    try {
      job.refunded = await refundJob(this.deps.ledger, job);
      this.deps.metrics.inc('ledger_ops', 'refund');
      this.#refunds.delete(job);
    } catch (err) {
      this.deps.metrics.inc('errors', 'refund');
      this.deps.log.error('refund failed; retrying later', { jobId: job.jobId, err });
      this.#refunds.add(job);
      this.#sweepTimer ??= setTimeout(() => void this.#sweep(), REFUND_SWEEP_MS);
    }
    this.onRefunded(job);
  }

  /** A receipt for a job that finished: paid already (at the job's end) or refused. */
  async late(done: FinishedJob, receipt: Receipt): Promise<{ paid: boolean; amount: number; fee: number }> {
    const stored = await (this.deps.ledger as Partial<{ receipt(id: string): Promise<{ amount: number; fee: number } | undefined> }>)
      .receipt?.(`${receipt.jobId}:${receipt.shard}:${receipt.leaseId}`);
    if (stored) return { paid: false, amount: stored.amount, fee: stored.fee };
    throw new MeshError('conflict', `Cannot settle lease ${receipt.leaseId} as job ${receipt.jobId} is ${done.status.state}`);
  }

  /** Stops retrying refunds (the process is ending). */
  stop(): void {
    clearTimeout(this.#sweepTimer);
  }

  async #write(job: Job, i: number, run: Run, basis: PayBasis): Promise<boolean> {
    try {
      const r = await payRun(this.deps.ledger, job, i, run, basis);
      this.deps.metrics.inc('ledger_ops', 'settle');
      delete run.settling;
      this.onPaid(job, i, run, r);
      return r.paid;
    } catch (err) {
      this.deps.metrics.inc('errors', 'settle');
      this.deps.log.error('payment failed', { jobId: job.jobId, shard: i, leaseId: run.lease.leaseId, basis, err });
      return false;
    }
  }

  async #sweep(): Promise<void> {
    this.#sweepTimer = undefined;
    for (const job of [...this.#refunds]) await this.refund(job);
  }
}
