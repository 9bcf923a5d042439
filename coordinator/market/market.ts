/**
 * The market: contributors offer capacity, clients submit jobs held in escrow, matching rounds turn the runs
 * jobs need into leases, and the claims contributors sign decide what is paid. This file owns the run life
 * cycle (admit, adopt, release, pay, finish a job); market-parts.ts wires the parts: round.ts runs matching
 * rounds (with cache serving and speculative duplicates), assign.ts turns a decision into a lease, claims.ts
 * handles what peers say about runs, job.ts owns each job's budget, verification.ts what claims prove,
 * payout.ts the ledger writes.
 *
 * Fair exchange: a claimed run is paid unless evidence says it is wrong. The client's receipt pays at once;
 * agreement of two independent runs pays both; an unverified run nobody complained about is paid when its
 * claim window passes; every claimed run still unpaid when the job ends (done, cancelled, expired, client
 * gone) is paid. A complaint never cuts pay by itself: it sets the run aside for an arbitration run.
 */
import type { ClientFrameOf, JobDetail, JobSpec, LeaseFailure, Receipt, ResultClaim, SubmitResult } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { DEFAULT_LIMITS, type MarketLimits } from './admission.ts';
import { JobBook } from './book.ts';
import { CapacityBook } from './capacity.ts';
import { endJob, type JobEndDeps, quiesce } from './job-end.ts';
import { notOwner, type RunClaims } from './claims.ts';
import type { ContributorSessions } from './contributor-sessions.ts';
import { ContributorRegistry, type RemoteRow } from './contributors.ts';
import { Credibility } from './credibility.ts';
import { type FinalState, Job } from './job.ts';
import type { LeaseFailures } from './lease-failures.ts';
import type { MarketDeps } from './market-deps.ts';
import type { Payments } from './payments.ts';
import { applyVerdicts, type VerdictDeps } from './verdicts.ts';
import type { MarketPersistence } from './persistence.ts';
import { InFlight } from './in-flight.ts';
import type { JobWaits } from './waits.ts';
import { RttBook } from './rtt.ts';
import { ResultCache } from './result-cache.ts';
import { admitJob } from './submission.ts';
import type { MatchingRounds } from './round.ts';
import { Speculation } from './speculation.ts';
import type { Pipelines } from './pipelines.ts';
import { wireMarket } from './market-parts.ts';

export { MIN_ROUND_MS } from './round.ts';
export { CLAIM_HOLD_MS, type MarketClusterHooks, type MarketDeps } from './market-deps.ts';

/** The market. */
export class Market {
  readonly credibility: Credibility;
  readonly registry: ContributorRegistry;
  /** Round trips peers measured to each other (rtt frames). */
  readonly rtt = new RttBook();
  /** Who holds which verified outputs (market/result-cache.ts). */
  readonly cache = new ResultCache();
  /** Measured speeds by kernel kind, summarised for clients (market/capacity.ts). */
  readonly capacity = new CapacityBook();
  readonly #book = new JobBook();
  readonly #runs: InFlight;
  readonly #failures: LeaseFailures;
  readonly #payments: Payments;
  readonly #verdictDeps: VerdictDeps;
  readonly #persist: MarketPersistence | undefined;
  readonly #random: () => number;
  readonly #limits: MarketLimits;
  readonly #waits: JobWaits;
  readonly #speculation = new Speculation();
  readonly #rounds: MatchingRounds;
  readonly #claims: RunClaims;
  readonly #endDeps: JobEndDeps;
  readonly #sessions: ContributorSessions;
  readonly #pipes: Pipelines;
  #seq = 0;
  #closed = false;

  constructor(readonly deps: MarketDeps) {
    this.#random = deps.random ?? Math.random;
    this.#limits = deps.limits ?? DEFAULT_LIMITS;
    this.credibility = new Credibility(deps.trust);
    this.registry = new ContributorRegistry(this.credibility);
    this.#runs = new InFlight(this.registry, () => this.schedule(), (job, run) => deps.cluster?.runEnded(job, run));
    const p = wireMarket(deps, {
      registry: this.registry, credibility: this.credibility, runs: this.#runs, book: this.#book, random: this.#random,
      cache: this.cache, capacity: this.capacity, rtt: this.rtt, speculation: this.#speculation,
    }, {
      release: (leaseId, reason, revoke, failure) => this.release(leaseId, reason, revoke, failure),
      releaseAll: (peerId, reason, revoke) => this.#releaseAll(peerId, reason, revoke),
      afterChange: (job, i) => this.#afterChange(job, i),
      schedule: () => this.schedule(),
      finishLater: (job, state) => this.#finishLater(job, state),
      finalize: (job, state) => this.finalize(job, state),
      failJob: (job, code, message) => this.#failJob(job, code, message),
      detach: (job) => this.#detach(job),
      matchable: () => this.#matchable(),
    });
    this.#failures = p.failures;
    this.#persist = p.persist;
    this.#pipes = p.pipes;
    this.#verdictDeps = p.verdictDeps;
    this.#waits = p.waits;
    this.#payments = p.payments;
    this.#rounds = p.rounds;
    this.#endDeps = p.endDeps;
    this.#sessions = p.sessions;
    this.#claims = p.claims;
  }

  /** Running jobs. */
  get runningJobs(): number {
    return this.#book.runningCount;
  }

  /** A running job by id (tests and metrics). */
  job(jobId: string): Job | undefined {
    return this.#book.get(jobId);
  }

  /** The status of a running or recently finished job, whoever owns it (tests and the operator). */
  peek(jobId: string): ReturnType<Job['status']> | undefined {
    return this.#book.get(jobId)?.status() ?? this.#book.finished(jobId)?.status;
  }

  // ---- contributors (contributor-sessions.ts) ----

  /** Registers (or updates) a contributor connecting from `network` and looks for work for it. */
  register(peerId: string, f: Pick<ClientFrameOf<'register'>, 'caps' | 'askPrice' | 'maxConcurrent'>, network: string): { state: string } {
    return this.#sessions.register(peerId, f, network);
  }

  /** A contributor another instance serves (cluster): jobs here may use it; its runs here count again. */
  remoteContributor(row: RemoteRow): void {
    this.#sessions.remoteContributor(row);
  }

  /** Pauses (its unclaimed leases go back to the queue) or resumes a contributor. */
  setState(peerId: string, state: 'active' | 'paused'): { state: string } {
    return this.#sessions.setState(peerId, state);
  }

  /** Removes a contributor; `connected` says whether it can still be told (revoke). */
  unregister(peerId: string, connected = true): boolean {
    return this.#sessions.unregister(peerId, connected);
  }

  /** A peer's mesh session ended: its leases are released, its jobs end unless it returns within the grace. */
  peerGone(peerId: string): Promise<void> {
    return this.#sessions.peerGone(peerId);
  }

  /** A contributor's session ended (here, or on its home instance): its leases are released, its clients told. */
  contributorLeft(peerId: string): void {
    this.#sessions.contributorLeft(peerId);
  }

  /** Whether a lease is in flight in this instance's market. */
  holdsLease(leaseId: string): boolean {
    return this.#runs.has(leaseId);
  }

  // ---- jobs ----

  /** Admits a job (whose signature the caller verified), holds its escrow and queues its shards. */
  async submit(client: string, spec: JobSpec, bytes: number, canonical?: string): Promise<SubmitResult> {
    if (this.#closed) throw new MeshError('internal', 'Cannot submit as the coordinator is shutting down');
    const upstream = this.#pipes.admit(client, spec);
    const job = await admitJob({
      ledger: this.deps.ledger,
      metrics: this.deps.metrics,
      feeRate: this.deps.feeRate,
      limits: this.#limits,
      book: this.#book,
      persist: this.#persist,
      random: this.#random,
      nextSeq: () => ++this.#seq,
    }, client, spec, bytes, canonical);
    this.#pipes.link(job, upstream);
    this.adopt(job);
    // The upstream stage ended while this one was admitted: the pipeline cannot finish.
    if (upstream && upstream.state !== 'running') this.#finishLater(job, 'cancelled');
    this.deps.metrics.inc('jobs');
    const { jobId, escrow } = job;
    this.deps.log.info('job submitted', { jobId, client, shards: spec.shards.length, sampled: job.shards.filter((s) => s.sampled).length, escrow });
    return { jobId, escrow, status: job.status() };
  }

  /**
   * Takes a running job into the market: a new one, or one resumed from the store (market/resume.ts), whose
   * runs that are still in flight get their timers back.
   */
  adopt(job: Job): void {
    const persist = this.#persist;
    if (persist) job.onChange = (i) => persist.shardChanged(job, i);
    this.#seq = Math.max(this.#seq, job.seq);
    this.#book.add(job);
    job.deadlineTimer = setTimeout(() => this.#finishLater(job, 'expired'), Math.max(0, job.submittedAt + job.spec.deadlineMs - Date.now()));
    this.#claims.rearm(job);
    this.schedule();
  }

  /**
   * Hands a running job to instance `to` (cluster): its pending state is written, it leaves this market with
   * its timers, and the store names `to` its owner. Nothing is paid or refunded: `to` carries on from the
   * store. False when this instance does not run it (or another took it first).
   */
  async surrender(jobId: string, to: string): Promise<boolean> {
    const job = this.#book.get(jobId);
    const persist = this.#persist;
    if (!job || !persist) return false;
    this.#detach(job);
    while (job.inflight.size > 0) await Promise.allSettled([...job.inflight]);
    if (!(await persist.flushJob(job))) return false;
    return await persist.store.moveJob(jobId, persist.owner, to);
  }

  /** Drops a running job another instance runs now: no payment, refund or notice; its runs leave flight here. */
  #detach(job: Job, tell = true): void {
    if (!this.#book.remove(job)) return;
    clearTimeout(job.deadlineTimer);
    job.onChange = undefined;
    const runs = this.#runs.detachJob(job);
    if (!tell) return;
    this.deps.cluster?.jobMoved(job, runs);
    this.deps.log.info('job moved to another instance', { jobId: job.jobId, runs: runs.length });
  }

  /** Releases the leases of contributors that are not registered (after a restart, those that did not return). */
  releaseAbsent(reason: string): void {
    for (const { run } of [...this.#runs.values()]) {
      if (run.state === 'leased' && !this.registry.get(run.lease.contributor)) this.release(run.lease.leaseId, reason, false);
    }
  }

  /** Cancels running jobs whose client has no session (after a restart, those that did not return). */
  async cancelClientless(): Promise<void> {
    const online = this.deps.online;
    if (!online || this.#closed) return;
    const gone = [...this.#book.running()].filter((j) => !online(j.client));
    await Promise.all(gone.map((j) => this.finalize(j, 'cancelled')));
  }

  /** Cancels a client's own job; claimed runs are paid, the rest of its escrow refunded. */
  async cancel(client: string, jobId: string): Promise<{ status: ReturnType<Job['status']> }> {
    const job = this.#book.get(jobId);
    if (!job) return { status: this.status(client, jobId) };
    if (job.client !== client) throw notOwner(jobId);
    await this.finalize(job, 'cancelled');
    return { status: job.status() };
  }

  /** A job's status, for its owner only (running or recently finished). */
  status(client: string, jobId: string): ReturnType<Job['status']> {
    return this.#book.statusFor(client, jobId);
  }

  /** A job's shard-by-shard detail, for its owner only (running, or finished a few minutes ago). */
  detail(client: string, jobId: string): JobDetail {
    return this.#book.detailFor(client, jobId);
  }

  // ---- runs (claims.ts) ----

  /** Records a contributor's signed claim that it produced `outputHash` for a lease it holds. */
  claim(peerId: string, claim: ResultClaim, signature: string): Promise<{ accepted: boolean; duplicate: boolean }> {
    return this.#claims.claim(peerId, claim, signature);
  }

  /** Pays a run on the client's signed receipt (signature verified by the caller). */
  receipt(client: string, receipt: Receipt, signature: string): Promise<{ paid: boolean; amount: number; fee: number }> {
    return this.#claims.receipt(client, receipt, signature);
  }

  /** A client's complaint: ends an unclaimed lease, or contests a claimed run for arbitration. */
  reject(client: string, f: ClientFrameOf<'reject'>): { released: boolean; contested: boolean } {
    return this.#claims.reject(client, f);
  }

  /** The client says two results of a verified shard differ beyond tolerance: a tie-breaker decides. */
  dispute(client: string, jobId: string, shard: number): { runs: number } {
    return this.#claims.dispute(client, jobId, shard);
  }

  /** A contributor reports it could not finish its lease (lease-failures.ts). */
  fail(peerId: string, f: ClientFrameOf<'fail'>): { released: boolean } {
    if (f.reason === 'source-lost') {
      const ref = this.#runs.get(f.leaseId);
      if (ref && ref.run.lease.contributor === peerId && ref.run.state === 'leased' && ref.job.jobId === f.jobId && ref.shard === f.shard) {
        this.#pipes.sourceLost(ref.job, ref.shard, ref.run, f);
      }
    }
    return this.#failures.fail(peerId, f);
  }

  /** A contributor no longer keeps these verified outputs: it stops being named as their holder. */
  evicted(peerId: string, outputs: readonly string[]): { dropped: number } {
    let dropped = 0;
    for (const hash of outputs) dropped += this.cache.forgetHeld(peerId, hash);
    if (dropped > 0) this.deps.metrics.inc('cache_evictions', '', dropped);
    return { dropped };
  }

  /**
   * Ends a lease that has no claim, unpaid, and queues its shard again. `failure`: the contributor's own report
   * (`fail`), passed on to the client.
   */
  release(leaseId: string, reason: string, revoke: boolean, failure?: LeaseFailure): boolean {
    const ref = this.#runs.get(leaseId);
    if (!ref || ref.run.state !== 'leased') return false;
    const { job, shard, run } = ref;
    if (run.lease.cached !== undefined) {
      // The holder did not answer from its cache: forget it there; the shard is computed instead.
      const s = job.shards[shard]!;
      if (s.cacheKey !== undefined) this.cache.drop(s.cacheKey, run.lease.contributor);
      if (s.sampled) s.verify = true;
    }
    this.#runs.forget(ref);
    job.release(shard, run);
    this.deps.notify(job.client, { type: 'released', leaseId, jobId: job.jobId, shard, reason, ...(failure ? { failure } : {}) });
    if (revoke) this.deps.notify(run.lease.contributor, { type: 'revoke', leaseId, reason });
    this.#afterChange(job, shard);
    return true;
  }

  /** Asks for a matching round soon (coalesced, at most one per MIN_ROUND_MS; round.ts). */
  schedule(): void {
    this.#rounds.schedule();
  }

  /** Ends a job: revokes its leases, pays claimed runs, waits for payments, refunds the rest of its escrow. */
  finalize(job: Job, state: FinalState): Promise<void> {
    return endJob(this.#endDeps, job, state);
  }

  /**
   * Stops matching and timers. Running jobs stay in the store and resume when the coordinator starts again
   * (without a store they cannot, and are cancelled: claimed work paid, the rest refunded).
   */
  async shutdown(): Promise<void> {
    this.#closed = true;
    this.#rounds.stop();
    this.#waits.stop();
    if (!this.#persist) await Promise.all([...this.#book.running()].map((job) => this.finalize(job, 'cancelled')));
    await quiesce(this.#book.running());
    await this.#persist?.flush();
    this.#payments.stop();
  }

  /** Stops everything as a crash would (tests of a cluster): timers cleared, nothing written, nothing paid. */
  halt(): Promise<void> {
    this.#closed = true;
    this.#rounds.stop();
    this.#waits.stop();
    for (const job of [...this.#book.running()]) this.#detach(job, false);
    this.#persist?.drop();
    this.#payments.stop();
    return Promise.resolve();
  }

  // ---- internals ----

  /** Ends a job that cannot finish, with a typed reason (its claimed work paid, the rest refunded). */
  #failJob(job: Job, code: NonNullable<Job['reason']>['code'], message: string): void {
    job.reason = { code, message };
    this.deps.log.info('job failed', { jobId: job.jobId, code, message });
    this.#finishLater(job, 'failed');
  }

  /** Running jobs in priority order whose client is there to serve them. */
  #matchable(): readonly Job[] {
    const online = this.deps.online;
    return online ? this.#book.byPriority().filter((j) => online(j.client)) : this.#book.byPriority();
  }

  /** Applies what the shard's claims prove, after any change to it. */
  #afterChange(job: Job, i: number): void {
    applyVerdicts(this.#verdictDeps, job, i);
  }

  /** Finalizes from a timer or a settlement, where nobody awaits the promise. */
  #finishLater(job: Job, state: FinalState): void {
    this.finalize(job, state).catch((err) => this.deps.log.error('finishing a job failed', { jobId: job.jobId, err }));
  }

  #releaseAll(contributor: string, reason: string, revoke: boolean): void {
    const c = this.registry.get(contributor);
    if (!c) return;
    // Only unclaimed leases go back: claimed work stays payable.
    for (const leaseId of [...c.load]) this.release(leaseId, reason, revoke);
  }
}

