/**
 * The market: contributors offer capacity, clients submit jobs held in escrow, and the matcher turns queued
 * shard runs into leases. This file owns the lease life cycle (assign, expire, release, finish a job);
 * settlement.ts handles what peers report about leases (claims, receipts, rejects, disputes).
 *
 * Matching runs on a zero-delay timer, coalescing bursts of events, whenever capacity or work appears:
 * a contributor registers or resumes, a lease ends or is claimed, a job is submitted, a shard is queued again.
 * The timer also lets a request's `ok` reach its sender before the pushes it caused.
 *
 * Adaptive replication (BOINC-style): when a contributor whose reputation is below LOW_REPUTATION gets the
 * primary run of an unverified shard, the shard becomes verified (one replica on another contributor) if
 * the job's escrow has headroom for it, which it has whenever runs went to asks below the bid.
 */
import type { ClientFrameOf, JobSpec, Lease, ServerFrame, SubmitResult } from '../../src/protocol/coordinator.ts';
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { escrowFor } from '../../src/core/cost.ts';
import { match } from '../../src/core/matcher.ts';
import { toHex } from '../../src/core/encoding.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { ContributorRegistry, LOW_REPUTATION } from './contributors.ts';
import { type FinalState, Job, type Run } from './job.ts';
import { chooseVerified } from './sampling.ts';
import { JobBook, pendingRuns } from './book.ts';

/** What the market needs from the coordinator. */
export interface MarketDeps {
  ledger: Ledger;
  /** Sends a frame to a peer's mesh session; false when it has none. */
  notify: (peerId: string, frame: ServerFrame) => boolean;
  feeRate: number;
  leaseMs: number;
  log: Logger;
  metrics: Metrics;
  /** Source of randomness for verification sampling (tests may fix it). */
  random?: () => number;
}

/** The market. */
export class Market {
  readonly registry = new ContributorRegistry();
  readonly #book = new JobBook();
  readonly #leases = new Map<string, { job: Job; shard: number }>();
  #seq = 0;
  #matchTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(readonly deps: MarketDeps) {}

  /** A job by id (running or recently finished). */
  job(jobId: string): Job | undefined {
    return this.#book.get(jobId);
  }

  /** Running jobs. */
  get runningJobs(): number {
    return this.#book.runningCount;
  }

  /** Registers (or updates) a contributor and looks for work for it. */
  register(peerId: string, f: Pick<ClientFrameOf<'register'>, 'caps' | 'askPrice' | 'maxConcurrent'>): { state: string } {
    const c = this.registry.register(peerId, f.caps as Capabilities, f.askPrice, f.maxConcurrent);
    this.schedule();
    return { state: c.state };
  }

  /** Pauses (its unclaimed leases go back to the queue) or resumes a contributor. */
  setState(peerId: string, state: 'active' | 'paused'): { state: string } {
    const c = this.registry.get(peerId);
    if (!c) throw new MeshError('not-found', `Cannot set state of ${peerId} as it is not registered: send 'register' first`);
    c.state = state;
    if (state === 'paused') this.#releaseAll(peerId, 'contributor paused', true);
    this.schedule();
    return { state };
  }

  /** Removes a contributor; `connected` says whether it can still be told (revoke). */
  unregister(peerId: string, connected = true): boolean {
    if (!this.registry.get(peerId)) return false;
    this.#releaseAll(peerId, connected ? 'contributor unregistered' : 'contributor left', connected);
    this.registry.unregister(peerId);
    return true;
  }

  /** A peer's mesh session ended: its contributor leases are released and its running jobs cancelled. */
  async peerGone(peerId: string): Promise<void> {
    // Clients still waiting on this peer's claimed outputs learn now, not at their transfer timeout.
    const waiting = new Set<string>();
    for (const job of this.#book.running()) {
      for (const shard of job.shards) {
        for (const run of shard.active.values()) {
          if (run.claim && run.lease.contributor === peerId) waiting.add(job.client);
        }
      }
    }
    for (const client of waiting) this.deps.notify(client, { type: 'peer-left', peerId });
    this.unregister(peerId, false);
    const mine = [...this.#book.running()].filter((j) => j.client === peerId);
    await Promise.all(mine.map((j) => this.finalize(j, 'cancelled')));
  }

  /** Holds escrow for a job (whose signature the caller verified) and queues its shards. */
  async submit(client: string, spec: JobSpec, signature: string): Promise<SubmitResult> {
    if (this.#closed) throw new MeshError('internal', 'Cannot submit as the coordinator is shutting down');
    spec.shards.forEach((s, i) => {
      if (s.index !== i) {
        throw new MeshError('invalid-message', `Cannot accept job as 'job.shards[${i}].index' must be ${i}: current value is ${s.index}`);
      }
    });
    if (!this.#book.reserve(signature)) {
      throw new MeshError('conflict', `Cannot accept job as this signed job (nonce ${spec.nonce}) was already submitted`);
    }
    const verified = chooseVerified(spec.shards.length, spec.verifyFraction, this.deps.random);
    const escrow = escrowFor({ shards: spec.shards, bid: spec.bid, verifiedShards: verified, feeRate: this.deps.feeRate });
    const jobId = newId('j');
    try {
      await this.deps.ledger.hold(jobId, client, escrow);
    } catch (err) {
      this.#book.unreserve(signature);
      throw err;
    }
    this.deps.metrics.inc('ledger_ops', 'hold');
    const job = new Job(jobId, client, spec, ++this.#seq, Date.now(), verified, escrow, this.deps.feeRate);
    job.signature = signature;
    this.#book.add(job);
    job.deadlineTimer = setTimeout(() => this.#finishLater(job, 'expired'), spec.deadlineMs);
    this.deps.metrics.inc('jobs');
    this.deps.log.info('job submitted', { jobId, client, shards: spec.shards.length, verified: verified.size, escrow });
    this.schedule();
    return { jobId, escrow, status: job.status() };
  }

  /** Cancels a client's own job; its escrow is refunded. */
  async cancel(client: string, jobId: string): Promise<{ status: ReturnType<Job['status']> }> {
    const job = this.clientJob(client, jobId);
    await this.finalize(job, 'cancelled');
    return { status: job.status() };
  }

  /** The job if `client` submitted it; throws not-found / unauthorized. */
  clientJob(client: string, jobId: string): Job {
    const job = this.#book.get(jobId);
    if (!job) throw new MeshError('not-found', `Cannot find job ${jobId}: it never existed or finished long ago`);
    if (job.client !== client) throw new MeshError('unauthorized', `Cannot act on job ${jobId} as it belongs to another client`);
    return job;
  }

  /** The lease with this id, if it is in flight. */
  lease(leaseId: string): { job: Job; shard: number; run: Run } | undefined {
    const ref = this.#leases.get(leaseId);
    if (!ref) return undefined;
    const run = ref.job.shards[ref.shard]?.active.get(leaseId);
    return run ? { ...ref, run } : undefined;
  }

  /** Asks for a matching round soon (coalesced). */
  schedule(): void {
    if (this.#matchTimer !== undefined || this.#closed) return;
    this.#matchTimer = setTimeout(() => {
      this.#matchTimer = undefined;
      this.#match();
    }, 0);
  }

  /**
   * Ends a lease without payment and queues its shard again. `dropSlot` (a disputed shard's loser) removes
   * the run's slot instead of refilling it.
   */
  release(leaseId: string, reason: string, revoke: boolean, dropSlot = false): boolean {
    const ref = this.lease(leaseId);
    if (!ref) return false;
    const { job, shard: i, run } = ref;
    this.#forget(job, i, run);
    job.committed += (dropSlot ? 0 : job.bidCost(i)) - job.runCost(i, run.lease.price);
    this.deps.notify(job.client, { type: 'released', leaseId, jobId: job.jobId, shard: i, reason });
    if (revoke) this.deps.notify(run.lease.contributor, { type: 'revoke', leaseId, reason });
    this.deps.log.debug('lease released', { leaseId, jobId: job.jobId, shard: i, reason });
    this.shardChanged(job, i);
    return true;
  }

  /** Records a run paid by a receipt, credits its contributor and moves the job on. */
  settled(job: Job, i: number, run: Run, amount: number, fee: number, balance: number): void {
    const s = job.shards[i]!;
    s.active.delete(run.lease.leaseId);
    s.settled.set(run.lease.leaseId, run);
    this.#leases.delete(run.lease.leaseId);
    job.spent += amount;
    job.fees += fee;
    this.registry.reward(run.lease.contributor);
    this.deps.metrics.inc('shards_settled');
    this.deps.notify(run.lease.contributor, { type: 'credited', leaseId: run.lease.leaseId, amount, balance });
    this.shardChanged(job, i);
    if (job.state === 'running') this.deps.notify(job.client, { type: 'job', status: job.status() });
  }

  /** After any change to a shard: finish it (revoking leftover leases) and the job, or queue it for matching. */
  shardChanged(job: Job, i: number): void {
    if (job.refresh(i)) {
      for (const run of [...job.shards[i]!.active.values()]) {
        this.#forget(job, i, run);
        job.committed -= job.runCost(i, run.lease.price);
        if (!run.claim) this.deps.notify(run.lease.contributor, { type: 'revoke', leaseId: run.lease.leaseId, reason: 'shard done' });
      }
      if (job.complete) this.#finishLater(job, 'done');
    }
    if (job.pending.has(i)) this.schedule();
  }

  /** Ends a job: revokes its leases, waits for settlements in flight, refunds the rest of its escrow. */
  async finalize(job: Job, state: FinalState): Promise<void> {
    if (job.state !== 'running') return;
    job.state = state;
    clearTimeout(job.deadlineTimer);
    this.#book.finish(job);
    job.pending.clear();
    job.shards.forEach((s, i) => {
      for (const run of [...s.active.values()]) {
        this.#forget(job, i, run);
        if (!run.claim) this.deps.notify(run.lease.contributor, { type: 'revoke', leaseId: run.lease.leaseId, reason: `job ${state}` });
      }
    });
    await Promise.allSettled([...job.inflight]);
    try {
      job.refunded = await this.deps.ledger.refund(job.jobId, job.client);
      this.deps.metrics.inc('ledger_ops', 'refund');
    } catch (err) {
      this.deps.metrics.inc('errors', 'refund');
      this.deps.log.error('refund failed', { jobId: job.jobId, err });
    }
    this.deps.log.info('job finished', { ...job.status() });
    this.deps.notify(job.client, { type: 'job', status: job.status() });
    this.schedule();
  }

  /** Stops matching and cancels every running job, refunding its escrow (jobs do not outlive the process). */
  async shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#matchTimer);
    await Promise.all([...this.#book.running()].map((job) => this.finalize(job, 'cancelled')));
  }

  /** Finalizes from a timer or a settlement, where nobody awaits the promise. */
  #finishLater(job: Job, state: FinalState): void {
    this.finalize(job, state).catch((err) => this.deps.log.error('finishing a job failed', { jobId: job.jobId, err }));
  }

  #match(): void {
    const contributors = this.registry.forMatching();
    if (contributors.length === 0 || this.#book.runningCount === 0) return;
    const runs = pendingRuns(this.#book.running(), contributors);
    for (const a of match(runs, contributors)) {
      const job = this.#book.getRunning(a.run.jobId);
      if (job) this.#assign(job, a.run.shard, a.contributor, a.price);
    }
  }

  #assign(job: Job, i: number, contributor: string, price: number): void {
    const s = job.shards[i]!;
    const c = this.registry.get(contributor)!;
    const replica = s.settled.size + s.active.size > 0;
    const now = Date.now();
    const lease: Lease = {
      leaseId: newId('l'),
      jobId: job.jobId,
      shard: i,
      client: job.client,
      contributor,
      price,
      expiresAt: now + this.deps.leaseMs,
      replica,
    };
    const run: Run = { lease, startedAt: now };
    run.timer = setTimeout(() => this.release(lease.leaseId, 'lease expired', true), this.deps.leaseMs);
    s.active.set(lease.leaseId, run);
    c.leases.add(lease.leaseId);
    this.#leases.set(lease.leaseId, { job, shard: i });
    job.committed += job.runCost(i, price) - job.bidCost(i);
    if (!replica && !s.verified && this.registry.reputation(contributor) < LOW_REPUTATION && job.headroom >= job.bidCost(i)) {
      s.verified = true;
      job.committed += job.bidCost(i);
      this.deps.log.info('replicating shard of a low-reputation contributor', { jobId: job.jobId, shard: i, contributor });
    }
    job.refresh(i);
    if (!this.deps.notify(contributor, { type: 'assign', lease, kernel: job.spec.kernel, spec: s.spec })) {
      this.release(lease.leaseId, 'contributor unreachable', false);
      return;
    }
    this.deps.notify(job.client, { type: 'assigned', lease });
    if (job.pending.has(i)) this.schedule();
  }

  /** Drops a run from the books of the shard, the lease index and its contributor. */
  #forget(job: Job, i: number, run: Run): void {
    clearTimeout(run.timer);
    job.shards[i]!.active.delete(run.lease.leaseId);
    this.#leases.delete(run.lease.leaseId);
    this.registry.get(run.lease.contributor)?.leases.delete(run.lease.leaseId);
  }

  #releaseAll(contributor: string, reason: string, revoke: boolean): void {
    const c = this.registry.get(contributor);
    if (!c) return;
    // Claimed leases are not in c.leases: the work was delivered and still awaits the client's receipt.
    for (const leaseId of [...c.leases]) this.release(leaseId, reason, revoke);
  }
}

/** A random id with a one-letter prefix (ids match the protocol's `[A-Za-z0-9_-]{1,64}`). */
export function newId(prefix: string): string {
  return prefix + toHex(crypto.getRandomValues(new Uint8Array(12)));
}
