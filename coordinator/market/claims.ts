/**
 * What peers say about runs: a contributor's signed claim of its output, the client's signed receipt that pays
 * a run, the client's complaint about a run (reject) and its dispute of two differing results, and the payments
 * they lead to landing (on a receipt, an agreement, or a claim window passing unchallenged). The market owns
 * the runs; this file holds the checks and state changes each of these messages makes (settlement.ts says
 * which ones a message may make at all).
 */
import type { ClientFrameOf, Receipt, ResultClaim, ServerFrame } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { JobBook } from './book.ts';
import type { CapacityBook } from './capacity.ts';
import type { ContributorRegistry } from './contributors.ts';
import type { Credibility } from './credibility.ts';
import type { InFlight, RunRef } from './in-flight.ts';
import type { Job, Run } from './job.ts';
import type { LeaseFailures } from './lease-failures.ts';
import { CLAIM_HOLD_MS } from './market-deps.ts';
import type { Paid, Payments } from './payments.ts';
import type { MarketPersistence } from './persistence.ts';
import { checkClaim, checkReceipt, checkReject } from './settlement.ts';
import { leasedTwin, type Speculation } from './speculation.ts';

/** What the handlers of claims, receipts and complaints need from the market. */
export interface ClaimDeps {
  book: JobBook;
  runs: InFlight;
  registry: ContributorRegistry;
  credibility: Credibility;
  failures: LeaseFailures;
  speculation: Speculation;
  /** Measured speeds by kernel kind (capacity.ts). */
  capacity: CapacityBook;
  payments: Payments;
  persist: MarketPersistence | undefined;
  log: Logger;
  metrics: Metrics;
  notify: (peerId: string, frame: ServerFrame) => boolean;
  claimWindowMs: number;
  release(leaseId: string, reason: string, revoke: boolean): boolean;
  /** Applies what a shard's claims prove after a change to it. */
  afterChange(job: Job, shard: number): void;
  schedule(): void;
}

/** Claims, receipts, complaints and disputes of the market's runs. */
export class RunClaims {
  readonly #d: ClaimDeps;

  constructor(d: ClaimDeps) {
    this.#d = d;
  }


  /** Records a contributor's signed claim that it produced `outputHash` for a lease it holds. */
  async claim(peerId: string, claim: ResultClaim, signature: string): Promise<{ accepted: boolean; duplicate: boolean }> {
    const ref = this.#d.runs.get(claim.leaseId);
    if (!ref) throw new MeshError('lease-expired', `Cannot claim lease ${claim.leaseId} as it is not in flight: it expired, was released or settled`);
    const { job, shard, run } = ref;
    if (checkClaim(job, shard, run, peerId, claim) === 'duplicate') return { accepted: true, duplicate: true };
    if (run.lease.cached !== undefined) {
      if (claim.outputHash !== run.lease.cached) {
        this.#d.release(claim.leaseId, 'cached answer named another output', true);
        throw new MeshError('invalid-message', `Cannot claim cached lease ${claim.leaseId} with output ${claim.outputHash}: the verified output is ${run.lease.cached}`);
      }
      job.shards[shard]!.fromCache = claim.outputHash;
    }
    const now = Date.now();
    clearTimeout(run.timer);
    job.claim(shard, run, claim.outputHash, signature, now);
    this.#d.registry.get(peerId)?.unpaid.add(claim.leaseId);
    this.#d.failures.succeeded(peerId);
    this.#d.credibility.recordSpeed(peerId, job.shards[shard]!.spec.workUnits, now - run.startedAt);
    this.#d.capacity.record(job.spec.kernel.kind, peerId, job.shards[shard]!.spec.workUnits, now - run.startedAt);
    this.#d.speculation.recordRun(job, now - run.startedAt);
    // A speculative pair: the first claim wins, the other run is revoked unpaid (speculation.ts).
    const twin = leasedTwin(job.shards[shard]!.runs, run);
    if (twin) this.#d.release(twin.lease.leaseId, 'speculative duplicate: another run claimed first', true);
    run.timer = setTimeout(() => this.windowPassed(ref), this.#d.claimWindowMs);
    run.holdTimer = setTimeout(() => {
      delete run.holdTimer;
      if (this.#d.registry.get(peerId)?.load.delete(claim.leaseId)) this.#d.schedule();
    }, Math.min(this.#d.claimWindowMs, CLAIM_HOLD_MS));
    const stored = this.#d.persist?.written(job);
    this.#d.afterChange(job, shard);
    this.#d.schedule();
    if (stored) {
      await stored.catch((err) => {
        throw new MeshError('internal', `Cannot confirm the claim of lease ${claim.leaseId} as it could not be stored: ${(err as Error).message}; send it again`);
      });
    }
    return { accepted: true, duplicate: false };
  }

  /** Pays a run on the client's signed receipt (signature verified by the caller). */
  async receipt(client: string, receipt: Receipt, signature: string): Promise<{ paid: boolean; amount: number; fee: number }> {
    const job = this.#d.book.get(receipt.jobId);
    if (!job) return await this.#d.payments.late(this.#d.book.finishedOf(client, receipt.jobId), receipt);
    if (job.client !== client) throw notOwner(receipt.jobId);
    const s = job.shards[receipt.shard];
    if (!s) throw new MeshError('not-found', `Cannot settle shard ${receipt.shard} of job ${job.jobId} as it has ${job.shards.length} shards`);
    const run = s.runs.find((r) => r.lease.leaseId === receipt.leaseId);
    if (!run) {
      throw new MeshError('not-found', `Cannot settle lease ${receipt.leaseId} of job ${job.jobId} shard ${receipt.shard} as it is not in flight: it expired, was released or never existed`);
    }
    const { amount, fee } = job.runCost(receipt.shard, run.lease);
    if (checkReceipt(job, run, receipt) === 'paid') return { paid: false, amount, fee };
    if (run.settling) {
      await run.settling;
      return this.receipt(client, receipt, signature);
    }
    run.receipt = { receipt, signature };
    if (run.state === 'contested') run.state = 'claimed'; // paying withdraws the complaint
    const paid = await this.#d.payments.pay(job, receipt.shard, run, 'receipt');
    return { paid, amount, fee };
  }

  /** A client's complaint: ends an unclaimed lease, or contests a claimed run for arbitration. */
  reject(client: string, f: ClientFrameOf<'reject'>): { released: boolean; contested: boolean } {
    const job = this.#d.book.runningOf(client, f.jobId);
    const ref = this.#d.runs.get(f.leaseId);
    const run = ref?.job === job ? ref.run : job.shards[f.shard]?.runs.find((r) => r.lease.leaseId === f.leaseId);
    if (!run) throw new MeshError('not-found', `Cannot reject lease ${f.leaseId} of job ${f.jobId} shard ${f.shard} as it is not in flight`);
    const verdict = checkReject(job, run, f);
    if (verdict === 'release') {
      this.#d.failures.rejected(job, f.shard, run, `rejected: ${f.reason}`);
      return { released: this.#d.release(f.leaseId, `rejected: ${f.reason}`, true), contested: false };
    }
    if (verdict === 'nothing') return { released: false, contested: run.state === 'contested' };
    // The run keeps its slot for the rest of its hold (CLAIM_HOLD_MS after the claim): a complaint must not
    // let a peer that claims garbage at once take more work.
    job.contest(f.shard, run);
    this.#d.log.info('run contested', { jobId: job.jobId, shard: f.shard, leaseId: f.leaseId, contributor: run.lease.contributor, reason: f.reason });
    this.#d.afterChange(job, f.shard);
    this.#d.schedule();
    return { released: true, contested: true };
  }

  /** The client says two results of a verified shard differ beyond tolerance: a tie-breaker decides. */
  dispute(client: string, jobId: string, shard: number): { runs: number } {
    const job = this.#d.book.runningOf(client, jobId);
    const s = job.shards[shard];
    if (!s) throw new MeshError('not-found', `Cannot dispute shard ${shard} of job ${jobId} as it has ${job.shards.length} shards`);
    const results = s.runs.filter((r) => r.claim && (r.state === 'claimed' || r.state === 'paid'));
    if (results.length < 2) throw new MeshError('conflict', `Cannot dispute shard ${shard} of job ${jobId} as it needs two results to compare: current count is ${results.length}`);
    if (!s.tiebreak && !s.done) {
      if (!s.verify) job.replicate(shard);
      job.addTiebreak(shard);
      this.#d.schedule();
    }
    return { runs: s.runs.filter((r) => r.state !== 'rejected').length + job.needed(shard) };
  }

  /** Gives the in-flight runs of a resumed job their timers back: a lease its expiry, a claim its window. */
  rearm(job: Job): void {
    const d = this.#d;
    job.shards.forEach((s, shard) => {
      for (const run of s.runs) {
        if (run.state !== 'leased' && run.state !== 'claimed' && run.state !== 'contested') continue;
        const ref: RunRef = { job, shard, run };
        d.runs.add(ref);
        if (run.state === 'leased') {
          run.timer = setTimeout(() => d.failures.expired(ref), Math.max(0, run.lease.expiresAt - Date.now()));
        } else if (run.state === 'claimed') {
          run.timer = setTimeout(() => this.windowPassed(ref), Math.max(0, run.claim!.at + d.claimWindowMs - Date.now()));
        }
      }
    });
  }

  /** A payment landed: the run is paid, its contributor told, the shard judged again. */
  paid(job: Job, i: number, run: Run, r: Paid): void {
    const d = this.#d;
    d.runs.forget({ job, shard: i, run });
    job.settle(i, run, r.amount, r.fee);
    // Paid before (a payment that landed just before a crash, not yet in the market's store): no second credit.
    if (r.paid) {
      d.credibility.paid(run.lease.contributor);
      d.metrics.inc('shards_settled');
      d.notify(run.lease.contributor, { type: 'credited', leaseId: run.lease.leaseId, amount: r.amount, balance: r.balance });
    }
    d.afterChange(job, i);
    if (job.state === 'running') d.notify(job.client, { type: 'job', status: job.status() });
  }

  /** The claim window of a run passed: unverified and unchallenged, it is paid. */
  windowPassed(ref: RunRef): void {
    const { job, shard, run } = ref;
    delete run.timer;
    const s = job.shards[shard]!;
    if (job.state !== 'running' || run.state !== 'claimed' || (s.verify && !s.waived)) return;
    const rival = s.runs.some((r) => r !== run && r.claim && r.state !== 'rejected' && r.claim.outputHash !== run.claim!.outputHash);
    if (!rival) void this.#d.payments.pay(job, shard, run, 'claim-window');
  }
}

/** The refusal of a client acting on another client's job. */
export function notOwner(jobId: string): MeshError {
  return new MeshError('unauthorized', `Cannot act on job ${jobId} as it belongs to another client`);
}
