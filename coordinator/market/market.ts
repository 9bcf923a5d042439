/**
 * The market: contributors offer capacity, clients submit jobs held in escrow, matching rounds turn the runs
 * jobs need into leases, and the claims contributors sign decide what is paid. This file owns the run life
 * cycle (assign, expire, claim, pay, reject, finish a job); job.ts owns each job's budget, verification.ts
 * what claims prove, settlement.ts the checks of what peers report, matching.ts a round, payout.ts the
 * ledger writes.
 *
 * Fair exchange: a claimed run is paid unless evidence says it is wrong. The client's receipt pays at once;
 * agreement of two independent runs pays both; an unverified run nobody complained about is paid when its
 * claim window passes; every claimed run still unpaid when the job ends (done, cancelled, expired, client
 * gone) is paid. A complaint never cuts pay by itself: it sets the run aside for an arbitration run.
 *
 * Matching runs on a timer, coalescing bursts of events, at most once per MIN_ROUND_MS.
 */
import type { ClientFrameOf, JobDetail, JobSpec, Receipt, ResultClaim, ServerFrame, SubmitResult } from '../../src/protocol/coordinator.ts';
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { escrowFor } from '../../src/core/cost.ts';
import { latencyMultiplier } from '../../src/core/latency.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { placementKey } from '../limits/network.ts';
import { admit, DEFAULT_LIMITS, jobIdFor, type MarketLimits } from './admission.ts';
import { JobBook } from './book.ts';
import { ContributorRegistry, type RemoteRow } from './contributors.ts';
import { Credibility, type TrustPolicy } from './credibility.ts';
import { type FinalState, Job, type Run } from './job.ts';
import { planRound } from './matching.ts';
import { nextCoolingEnd } from './failures.ts';
import { LeaseFailures } from './lease-failures.ts';
import { type Paid, Payments } from './payments.ts';
import { checkClaim, checkReceipt, checkReject } from './settlement.ts';
import { chooseVerified, shouldReplicate } from './verification.ts';
import { applyVerdicts, type VerdictDeps, waiveVerification } from './verdicts.ts';
import { MarketPersistence } from './persistence.ts';
import type { MarketStore } from '../store/types.ts';
import { contributorView, newLease } from './leases.ts';
import { InFlight, type RunRef } from './in-flight.ts';
import { JobWaits } from './waits.ts';
import { RttBook } from './rtt.ts';
import { kernelKey, ResultCache, shardKey } from './result-cache.ts';
import { planCacheServes } from './cache-serve.ts';
import { leasedTwin, Speculation, type Straggler } from './speculation.ts';
import { match, type MatchContributor } from '../../src/core/matcher.ts';
import { Pipelines } from './pipelines.ts';

/** Shortest time between two matching rounds. */
export const MIN_ROUND_MS = 10;
/**
 * How long a claimed run keeps its slot of its contributor's capacity (at most the claim window): time for the
 * outputs to travel. A peer claiming at once with a made-up hash holds a slot this long per claim, and each
 * such claim is outvoted or complained about; a longer hold would let verified shards waiting for their
 * second run block the very contributors that must run it.
 */
export const CLAIM_HOLD_MS = 5_000;

/** What the market needs from the coordinator. */
export interface MarketDeps {
  ledger: Ledger;
  /** Sends a frame to a peer's mesh session; false when it has none. */
  notify: (peerId: string, frame: ServerFrame) => boolean;
  feeRate: number;
  leaseMs: number;
  /** After a claim: how long it counts against capacity, and when an unverified, uncontested run is paid. */
  claimWindowMs: number;
  /** How long a verification run may find no eligible contributor at all before verification is waived. */
  replicaWaitMs: number;
  limits?: MarketLimits;
  log: Logger;
  metrics: Metrics;
  /** How far contributors without a record are trusted (default: strangers). */
  trust?: TrustPolicy;
  /** Where running jobs and track records are kept across restarts (none: in memory only). */
  store?: MarketStore;
  /** This instance's name in a cluster ('' alone). */
  instanceId?: string;
  /** Whether a peer has a mesh session (a job is matched only while its client is there to serve it). */
  online?: (peerId: string) => boolean;
  /** How long a client whose session ended may take to come back before its running jobs are cancelled. */
  clientGraceMs?: number;
  /** Source of randomness for sampling and verifier placement (tests may fix it). */
  random?: () => number;
  /** How long a contributor is kept off a shard after each failure of it (default failures.ts BACKOFF_MS; tests shorten it). */
  failureBackoffMs?: readonly number[];
  /** What a cluster of instances adds (cluster/market-link.ts); absent when the coordinator runs alone. */
  cluster?: MarketClusterHooks;
}

/** Hooks a cluster gives the market. */
export interface MarketClusterHooks {
  /** A run of this instance's job left flight (settled, released, rejected, or the job moved away). */
  runEnded(job: Job, run: Run): void;
  /** Another instance owns this job now: the market dropped it; `runs` were in flight. */
  jobMoved(job: Job, runs: readonly Run[]): void;
}

/** The market. */
export class Market {
  readonly credibility: Credibility;
  readonly registry: ContributorRegistry;
  /** Round trips peers measured to each other (rtt frames). */
  readonly rtt = new RttBook();
  /** Who holds which verified outputs (market/result-cache.ts). */
  readonly cache = new ResultCache();
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
  readonly #pipes: Pipelines;
  #seq = 0;
  #matchTimer: ReturnType<typeof setTimeout> | undefined;
  #recheck: ReturnType<typeof setTimeout> | undefined;
  #lastRound = 0;
  #closed = false;

  constructor(readonly deps: MarketDeps) {
    this.#random = deps.random ?? Math.random;
    this.#limits = deps.limits ?? DEFAULT_LIMITS;
    this.credibility = new Credibility(deps.trust);
    this.registry = new ContributorRegistry(this.credibility);
    this.#runs = new InFlight(this.registry, () => this.schedule(), (job, run) => deps.cluster?.runEnded(job, run));
    this.#failures = new LeaseFailures({
      registry: this.registry,
      runs: this.#runs,
      log: deps.log,
      metrics: deps.metrics,
      notify: deps.notify,
      ...(deps.failureBackoffMs ? { backoffMs: deps.failureBackoffMs } : {}),
      release: (leaseId, reason, revoke) => this.release(leaseId, reason, revoke),
      releaseAll: (peerId, reason, revoke) => this.#releaseAll(peerId, reason, revoke),
      afterChange: (job, i) => this.#afterChange(job, i),
      schedule: () => this.schedule(),
      failJob: (job, code, message) => this.#failJob(job, code, message),
    });
    if (deps.store) {
      const persist = this.#persist = new MarketPersistence(deps.store, deps.log, deps.instanceId ?? '');
      this.credibility.onChange = (peerId, record) => persist.recordChanged(peerId, record);
      persist.onLost = (job) => this.#detach(job);
    }
    this.#pipes = new Pipelines({
      job: (jobId) => this.#book.get(jobId),
      present: (peerId) => this.registry.get(peerId) !== undefined,
      contributor: (peerId) => this.registry.get(peerId),
      active: () => this.registry.taking(),
      notify: deps.notify,
      afterChange: (job, i) => this.#afterChange(job, i),
      schedule: () => this.schedule(),
      finishLater: (job, state) => this.#finishLater(job, state),
      failJob: (job, message) => this.#failJob(job, 'transfer-failed', message),
      log: deps.log,
    });
    this.#verdictDeps = {
      decided: (job, i, hash) => this.#pipes.decided(job, i, hash),
      holdOpen: (job) => this.#pipes.holdOpen(job),
      credibility: this.credibility,
      metrics: deps.metrics,
      log: deps.log,
      notify: deps.notify,
      forget: (job, shard, run) => this.#runs.forget({ job, shard, run }),
      pay: (job, shard, run, basis) => this.#payments.pay(job, shard, run, basis),
      finishLater: (job, state) => this.#finishLater(job, state),
      schedule: () => this.schedule(),
      verified: (job, i, hash, holders) => {
        const key = job.shards[i]!.cacheKey;
        if (key !== undefined) this.cache.record(key, hash, holders);
      },
    };
    this.#waits = new JobWaits({
      // Active contributors only (the registry's index): the pass skips the others anyway.
      registry: () => this.registry.taking(),
      jobs: () => this.#matchable(),
      notify: deps.notify,
      replicaWaitMs: deps.replicaWaitMs,
    });
    this.#payments = new Payments(deps, (job, i, run, paid) => this.#paid(job, i, run, paid), (job) => this.#book.record(job));
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

  // ---- contributors ----

  /** Registers (or updates) a contributor connecting from `network` and looks for work for it. */
  register(peerId: string, f: Pick<ClientFrameOf<'register'>, 'caps' | 'askPrice' | 'maxConcurrent'>, network: string): { state: string } {
    const c = this.registry.register(peerId, f.caps as Capabilities, f.askPrice, f.maxConcurrent, network, placementKey(network, peerId));
    this.#runs.countFor(c);
    this.schedule();
    return { state: c.state };
  }

  /** A contributor another instance serves (cluster): jobs here may use it; its runs here count again. */
  remoteContributor(row: RemoteRow): void {
    const got = this.registry.registerRemote(row);
    if (!got) return;
    if (got.created) this.#runs.countFor(got.c);
    this.schedule();
  }

  /** Pauses (its unclaimed leases go back to the queue) or resumes a contributor. */
  setState(peerId: string, state: 'active' | 'paused'): { state: string } {
    const c = this.registry.get(peerId);
    if (!c) throw new MeshError('not-found', `Cannot set state of ${peerId} as it is not registered: send 'register' first`);
    this.registry.setState(c, state);
    if (state === 'paused') this.#releaseAll(peerId, 'contributor paused', true);
    else this.#failures.succeeded(peerId);
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

  /**
   * A peer's mesh session ended: its leases are released, and its running jobs end (claimed work paid) unless
   * it authenticates again within the client grace.
   */
  async peerGone(peerId: string): Promise<void> {
    this.rtt.forget(peerId);
    this.contributorLeft(peerId);
    if (![...this.#book.running()].some((j) => j.client === peerId)) return;
    // A client that comes back within the grace (a network blip, a coordinator it failed over from) keeps its jobs.
    await new Promise((r) => setTimeout(r, this.deps.clientGraceMs ?? 0));
    if (this.deps.online?.(peerId)) return;
    const mine = [...this.#book.running()].filter((j) => j.client === peerId);
    await Promise.all(mine.map((j) => this.finalize(j, 'cancelled')));
  }

  /** A contributor's session ended (here, or on its home instance): its leases are released, its clients told. */
  contributorLeft(peerId: string): void {
    const waiting = new Set<string>();
    for (const { job, run } of this.#runs.values()) {
      if (run.lease.contributor === peerId && run.state === 'claimed') waiting.add(job.client);
    }
    for (const client of waiting) this.deps.notify(client, { type: 'peer-left', peerId });
    this.unregister(peerId, false);
  }

  /** Whether a lease is in flight in this instance's market. */
  holdsLease(leaseId: string): boolean {
    return this.#runs.has(leaseId);
  }

  // ---- jobs ----

  /** Admits a job (whose signature the caller verified), holds its escrow and queues its shards. */
  async submit(client: string, spec: JobSpec, bytes: number, canonical?: string): Promise<SubmitResult> {
    if (this.#closed) throw new MeshError('internal', 'Cannot submit as the coordinator is shutting down');
    const escrow = escrowFor({ shards: spec.shards, bid: spec.bid * latencyMultiplier(spec.latencyMs), feeRate: this.deps.feeRate });
    admit(spec, escrow, bytes, this.#book.usage(client), { jobs: this.#book.runningCount, shards: this.#book.runningShards }, this.#limits);
    const upstream = this.#pipes.admit(client, spec);
    const jobId = await jobIdFor(client, spec, canonical);
    if (this.#book.get(jobId) || this.#book.finished(jobId)) throw replayed(spec);
    try {
      await this.deps.ledger.hold(jobId, client, escrow);
    } catch (err) {
      if (err instanceof MeshError && err.code === 'conflict') throw replayed(spec);
      throw err;
    }
    this.deps.metrics.inc('ledger_ops', 'hold');
    if (this.#book.get(jobId)) throw replayed(spec); // a concurrent duplicate won the race
    const sampled = chooseVerified(spec.shards.length, spec.verifyFraction, this.#random);
    const job = new Job(jobId, client, spec, ++this.#seq, Date.now(), sampled, escrow, this.deps.feeRate, bytes);
    const kernel = await kernelKey(spec.kernel);
    // A pipeline stage's outputs stay with its contributors for the next stage: no result cache for them.
    if (!spec.pipeline) for (const s of job.shards) s.cacheKey = shardKey(kernel, s.spec);
    try {
      await this.#persist?.admitted(job);
    } catch (err) {
      await this.deps.ledger.refund(jobId, client).catch(() => {});
      throw new MeshError('internal', `Cannot accept job as it could not be stored: ${(err as Error).message}`);
    }
    this.#pipes.link(job, upstream);
    this.adopt(job);
    // The upstream stage ended while this one was admitted: the pipeline cannot finish.
    if (upstream && upstream.state !== 'running') this.#finishLater(job, 'cancelled');
    this.deps.metrics.inc('jobs');
    this.deps.log.info('job submitted', { jobId, client, shards: spec.shards.length, sampled: sampled.size, escrow });
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
    job.shards.forEach((s, shard) => {
      for (const run of s.runs) {
        if (run.state !== 'leased' && run.state !== 'claimed' && run.state !== 'contested') continue;
        const ref: RunRef = { job, shard, run };
        this.#runs.add(ref);
        if (run.state === 'leased') {
          run.timer = setTimeout(() => this.#failures.expired(ref), Math.max(0, run.lease.expiresAt - Date.now()));
        } else if (run.state === 'claimed') {
          run.timer = setTimeout(() => this.#windowPassed(ref), Math.max(0, run.claim!.at + this.deps.claimWindowMs - Date.now()));
        }
      }
    });
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

  // ---- runs ----

  /** Records a contributor's signed claim that it produced `outputHash` for a lease it holds. */
  async claim(peerId: string, claim: ResultClaim, signature: string): Promise<{ accepted: boolean; duplicate: boolean }> {
    const ref = this.#runs.get(claim.leaseId);
    if (!ref) throw new MeshError('lease-expired', `Cannot claim lease ${claim.leaseId} as it is not in flight: it expired, was released or settled`);
    const { job, shard, run } = ref;
    if (checkClaim(job, shard, run, peerId, claim) === 'duplicate') return { accepted: true, duplicate: true };
    if (run.lease.cached !== undefined) {
      if (claim.outputHash !== run.lease.cached) {
        this.release(claim.leaseId, 'cached answer named another output', true);
        throw new MeshError('invalid-message', `Cannot claim cached lease ${claim.leaseId} with output ${claim.outputHash}: the verified output is ${run.lease.cached}`);
      }
      job.shards[shard]!.fromCache = claim.outputHash;
    }
    const now = Date.now();
    clearTimeout(run.timer);
    job.claim(shard, run, claim.outputHash, signature, now);
    this.registry.get(peerId)?.unpaid.add(claim.leaseId);
    this.#failures.succeeded(peerId);
    this.credibility.recordSpeed(peerId, job.shards[shard]!.spec.workUnits, now - run.startedAt);
    this.#speculation.recordRun(job, now - run.startedAt);
    // A speculative pair: the first claim wins, the other run is revoked unpaid (speculation.ts).
    const twin = leasedTwin(job.shards[shard]!.runs, run);
    if (twin) this.release(twin.lease.leaseId, 'speculative duplicate: another run claimed first', true);
    run.timer = setTimeout(() => this.#windowPassed(ref), this.deps.claimWindowMs);
    run.holdTimer = setTimeout(() => {
      delete run.holdTimer;
      if (this.registry.get(peerId)?.load.delete(claim.leaseId)) this.schedule();
    }, Math.min(this.deps.claimWindowMs, CLAIM_HOLD_MS));
    const stored = this.#persist?.written(job);
    this.#afterChange(job, shard);
    this.schedule();
    if (stored) {
      await stored.catch((err) => {
        throw new MeshError('internal', `Cannot confirm the claim of lease ${claim.leaseId} as it could not be stored: ${(err as Error).message}; send it again`);
      });
    }
    return { accepted: true, duplicate: false };
  }

  /** Pays a run on the client's signed receipt (signature verified by the caller). */
  async receipt(client: string, receipt: Receipt, signature: string): Promise<{ paid: boolean; amount: number; fee: number }> {
    const job = this.#book.get(receipt.jobId);
    if (!job) return await this.#payments.late(this.#book.finishedOf(client, receipt.jobId), receipt);
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
    const paid = await this.#payments.pay(job, receipt.shard, run, 'receipt');
    return { paid, amount, fee };
  }

  /** A client's complaint: ends an unclaimed lease, or contests a claimed run for arbitration. */
  reject(client: string, f: ClientFrameOf<'reject'>): { released: boolean; contested: boolean } {
    const job = this.#book.runningOf(client, f.jobId);
    const ref = this.#runs.get(f.leaseId);
    const run = ref?.job === job ? ref.run : job.shards[f.shard]?.runs.find((r) => r.lease.leaseId === f.leaseId);
    if (!run) throw new MeshError('not-found', `Cannot reject lease ${f.leaseId} of job ${f.jobId} shard ${f.shard} as it is not in flight`);
    const verdict = checkReject(job, run, f);
    if (verdict === 'release') {
      this.#failures.rejected(job, f.shard, run, `rejected: ${f.reason}`);
      return { released: this.release(f.leaseId, `rejected: ${f.reason}`, true), contested: false };
    }
    if (verdict === 'nothing') return { released: false, contested: run.state === 'contested' };
    // The run keeps its slot for the rest of its hold (CLAIM_HOLD_MS after the claim): a complaint must not
    // let a peer that claims garbage at once take more work.
    job.contest(f.shard, run);
    this.deps.log.info('run contested', { jobId: job.jobId, shard: f.shard, leaseId: f.leaseId, contributor: run.lease.contributor, reason: f.reason });
    this.#afterChange(job, f.shard);
    this.schedule();
    return { released: true, contested: true };
  }

  /** The client says two results of a verified shard differ beyond tolerance: a tie-breaker decides. */
  dispute(client: string, jobId: string, shard: number): { runs: number } {
    const job = this.#book.runningOf(client, jobId);
    const s = job.shards[shard];
    if (!s) throw new MeshError('not-found', `Cannot dispute shard ${shard} of job ${jobId} as it has ${job.shards.length} shards`);
    const results = s.runs.filter((r) => r.claim && (r.state === 'claimed' || r.state === 'paid'));
    if (results.length < 2) throw new MeshError('conflict', `Cannot dispute shard ${shard} of job ${jobId} as it needs two results to compare: current count is ${results.length}`);
    if (!s.tiebreak && !s.done) {
      if (!s.verify) job.replicate(shard);
      job.addTiebreak(shard);
      this.schedule();
    }
    return { runs: s.runs.filter((r) => r.state !== 'rejected').length + job.needed(shard) };
  }

  /** A contributor reports it could not finish its lease (lease-failures.ts; a lost pipeline source: pipelines.ts). */
  fail(peerId: string, f: ClientFrameOf<'fail'>): { released: boolean } {
    if (f.reason === 'source-lost') {
      const ref = this.#runs.get(f.leaseId);
      if (ref && ref.run.lease.contributor === peerId && ref.run.state === 'leased' && ref.job.jobId === f.jobId && ref.shard === f.shard) {
        this.#pipes.sourceLost(ref.job, ref.shard, ref.run, f);
      }
    }
    return this.#failures.fail(peerId, f);
  }

  /** Ends a lease that has no claim, unpaid, and queues its shard again. */
  release(leaseId: string, reason: string, revoke: boolean): boolean {
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
    this.deps.notify(job.client, { type: 'released', leaseId, jobId: job.jobId, shard, reason });
    if (revoke) this.deps.notify(run.lease.contributor, { type: 'revoke', leaseId, reason });
    this.#afterChange(job, shard);
    return true;
  }

  /** Asks for a matching round soon (coalesced, at most one per MIN_ROUND_MS). */
  schedule(): void {
    if (this.#matchTimer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastRound + MIN_ROUND_MS - performance.now());
    this.#matchTimer = setTimeout(() => {
      this.#matchTimer = undefined;
      this.#lastRound = performance.now();
      try {
        this.#match();
      } catch (err) {
        this.deps.log.error('matching round failed', { err });
      }
    }, wait);
  }

  /** Ends a job: revokes its leases, pays claimed runs, waits for payments, refunds the rest of its escrow. */
  async finalize(job: Job, state: FinalState): Promise<void> {
    if (job.state !== 'running') return;
    job.state = state;
    clearTimeout(job.deadlineTimer);
    this.#book.finish(job);
    this.#pipes.ended(job, state);
    job.shards.forEach((s, i) => {
      for (const run of [...s.runs]) {
        if (run.state === 'leased') {
          this.#runs.forget({ job, shard: i, run });
          job.release(i, run);
          this.deps.notify(run.lease.contributor, { type: 'revoke', leaseId: run.lease.leaseId, reason: `job ${state}` });
        } else if (run.state === 'claimed' || run.state === 'contested') {
          void this.#payments.pay(job, i, run, 'job-end');
        }
      }
    });
    while (job.inflight.size > 0) await Promise.allSettled([...job.inflight]);
    await this.#payments.refund(job);
    await this.#persist?.ended(job);
    this.deps.log.info('job finished', { ...job.status() });
    this.deps.notify(job.client, { type: 'job', status: job.status() });
    this.schedule();
  }

  /** Stops matching and cancels every running job (claimed work paid, the rest refunded). */
  /**
   * Stops matching and timers. Running jobs stay in the store and resume when the coordinator starts again
   * (without a store they cannot, and are cancelled: claimed work paid, the rest refunded).
   */
  async shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#matchTimer);
    clearTimeout(this.#recheck);
    this.#waits.stop();
    if (!this.#persist) await Promise.all([...this.#book.running()].map((job) => this.finalize(job, 'cancelled')));
    for (const job of this.#book.running()) {
      clearTimeout(job.deadlineTimer);
      await Promise.allSettled([...job.inflight]);
      for (const s of job.shards) {
        for (const r of s.runs) {
          clearTimeout(r.timer);
          clearTimeout(r.holdTimer);
        }
      }
    }
    await this.#persist?.flush();
    this.#payments.stop();
  }

  /** Stops everything as a crash would (tests of a cluster): timers cleared, nothing written, nothing paid. */
  halt(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#matchTimer);
    clearTimeout(this.#recheck);
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

  #match(): void {
    if (this.#book.runningCount === 0) return;
    const started = performance.now();
    const jobs = this.#matchable();
    const serves = planCacheServes(jobs, {
      cache: this.cache,
      registry: this.registry,
      rtt: (client) => this.rtt.confirmed(client),
      quarantined: (p) => this.credibility.quarantined(p),
    });
    for (const s of serves) if (s.job.state === 'running' && s.job.needed(s.shard) > 0) this.#assign(s.job, s.shard, s.contributor, s.price, { cached: s.outputHash });
    if (serves.length > 0) this.deps.metrics.inc('cache_serves', '', serves.length);
    const contributors = this.registry.forMatching();
    const plan = planRound(jobs, {
      contributors,
      pool: (credibleOnly) => this.registry.taking(credibleOnly),
      credible: (p) => this.credibility.credible(p),
      random: this.#random,
      now: Date.now(),
      replicaWaitMs: this.deps.replicaWaitMs,
      rtt: (client) => this.rtt.confirmed(client),
      affinity: (job) => this.#pipes.affinity(job),
      gate: (job) => this.#pipes.gate(job),
    });
    for (const { job, shard, assignment } of plan.assignments) {
      if (job.state === 'running' && job.needed(shard) > 0) this.#assign(job, shard, assignment.contributor, assignment.price);
    }
    this.deps.metrics.inc('match_rounds');
    this.deps.metrics.inc('match_offers', '', plan.offered);
    this.deps.metrics.inc('match_ms', '', Math.round(performance.now() - started));
    // A contributor cooling off a failed shard may be the only one for it: look again when its cooldown ends.
    const spec = this.#speculate(jobs);
    if (spec !== undefined) plan.recheckInMs = Math.min(plan.recheckInMs ?? Infinity, spec);
    const cooled = nextCoolingEnd(jobs, Date.now());
    if (cooled !== undefined) plan.recheckInMs = Math.min(plan.recheckInMs ?? Infinity, cooled - Date.now());
    if (plan.recheckInMs !== undefined && this.#recheck === undefined && !this.#closed) {
      this.#recheck = setTimeout(() => {
        this.#recheck = undefined;
        this.schedule();
      }, plan.recheckInMs + 1);
    }
    for (const { job, shard } of plan.waive) waiveVerification(this.#verdictDeps, job, shard);
    this.#waits.poke();
  }

  /** Running jobs in priority order whose client is there to serve them. */
  /** Measured speeds of the registered contributors. */
  #measuredSpeeds(): number[] {
    const out: number[] = [];
    for (const c of this.registry.all()) {
      const v = this.credibility.speed(c.peerId);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  #matchable(): readonly Job[] {
    const online = this.deps.online;
    return online ? this.#book.byPriority().filter((j) => online(j.client)) : this.#book.byPriority();
  }

  /**
   * Leases duplicates of the stragglers of jobs in their tail to free contributors (speculation.ts); returns
   * when to look again (ms), if a run will become a straggler without any other event.
   */
  #speculate(jobs: readonly Job[]): number | undefined {
    const { stragglers, nextInMs } = this.#speculation.find(jobs, Date.now(), (client) => this.rtt.confirmed(client));
    if (stragglers.length === 0) return nextInMs;
    const byOffer = new Map(stragglers.map((s) => [s.offer, s]));
    let leased = 0;
    for (const a of match(stragglers.map((s) => s.offer), provenFast(this.registry.forMatching(), this.#measuredSpeeds()), { random: this.#random })) {
      const s: Straggler = byOffer.get(a.run)!;
      if (s.job.state !== 'running' || s.run.state !== 'leased' || s.job.shards[s.shard]!.done) continue;
      this.#assign(s.job, s.shard, a.contributor, a.price, { straggler: s.run });
      leased++;
    }
    if (leased > 0) this.deps.metrics.inc('speculative_runs', '', leased);
    return nextInMs;
  }

  /**
   * Leases shard `i` of `job` to `contributor` at its ask `price` (times the latency tier). `cached`: the verified
   * output hash it answers with from its cache (market/cache-serve.ts), no replica needed. `straggler`: the run
   * this lease duplicates (speculation.ts), whose role it takes.
   */
  #assign(job: Job, i: number, contributor: string, price: number, opts: { cached?: string; straggler?: Run } = {}): void {
    const { cached, straggler } = opts;
    const c = this.registry.get(contributor);
    if (!c) return;
    const s = job.shards[i]!;
    const pipe = this.#pipes.assignPart(job, i, contributor);
    if (pipe === null) return; // its inputs are gone: the upstream shard is computed again first
    if (cached !== undefined) s.verify = false; // two runs agreed on this output already
    const role = straggler?.role ?? job.nextRole(i);
    const lease = newLease(job, i, contributor, price * latencyMultiplier(job.spec.latencyMs), role, this.deps.leaseMs);
    if (cached !== undefined) lease.cached = cached;
    const run: Run = { lease, role, network: c.placement, startedAt: Date.now(), state: 'leased' };
    if (straggler) run.twinOf = straggler.lease.leaseId;
    if (pipe?.from) run.from = pipe.from.leaseId;
    const ref: RunRef = { job, shard: i, run };
    job.lease(i, run);
    this.#runs.add(ref);
    run.timer = setTimeout(() => this.#failures.expired(ref), this.deps.leaseMs);
    const a = { contributor };
    if (cached === undefined && !straggler && role === 'primary' && !s.verify && shouldReplicate(this.credibility.replicationProbability(a.contributor), this.#random)) job.replicate(i);
    if (s.verify && !s.waived) lease.verified = true;
    if (!this.deps.notify(a.contributor, { type: 'assign', lease: contributorView(lease), kernel: job.spec.kernel, spec: s.spec, ...(pipe ? { pipe } : {}) })) {
      this.release(lease.leaseId, 'contributor unreachable', false);
      return;
    }
    this.deps.notify(job.client, { type: 'assigned', lease });
    if (job.pending.has(i)) this.schedule();
  }

  /** Applies what the shard's claims prove, after any change to it. */
  #afterChange(job: Job, i: number): void {
    applyVerdicts(this.#verdictDeps, job, i);
  }

  /** A payment landed: the run is paid, its contributor told, the shard judged again. */
  #paid(job: Job, i: number, run: Run, r: Paid): void {
    this.#runs.forget({ job, shard: i, run });
    job.settle(i, run, r.amount, r.fee);
    // Paid before (a payment that landed just before a crash, not yet in the market's store): no second credit.
    if (r.paid) {
      this.credibility.paid(run.lease.contributor);
      this.deps.metrics.inc('shards_settled');
      this.deps.notify(run.lease.contributor, { type: 'credited', leaseId: run.lease.leaseId, amount: r.amount, balance: r.balance });
    }
    this.#afterChange(job, i);
    if (job.state === 'running') this.deps.notify(job.client, { type: 'job', status: job.status() });
  }

  /** The claim window of a run passed: unverified and unchallenged, it is paid. */
  #windowPassed(ref: RunRef): void {
    const { job, shard, run } = ref;
    delete run.timer;
    const s = job.shards[shard]!;
    if (job.state !== 'running' || run.state !== 'claimed' || (s.verify && !s.waived)) return;
    const rival = s.runs.some((r) => r !== run && r.claim && r.state !== 'rejected' && r.claim.outputHash !== run.claim!.outputHash);
    if (!rival) void this.#payments.pay(job, shard, run, 'claim-window');
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


function replayed(spec: JobSpec): MeshError {
  return new MeshError('conflict', `Cannot accept job as this signed job (nonce ${spec.nonce}) was already submitted`);
}

function notOwner(jobId: string): MeshError {
  return new MeshError('unauthorized', `Cannot act on job ${jobId} as it belongs to another client`);
}

/**
 * Contributors a duplicate may go to: those measured at least as fast as the median of `measured` (the speeds
 * of every registered contributor that has one; all of the pool while none was measured). A duplicate on a peer as slow as the straggler finishes no sooner and blocks the
 * shard's one live duplicate.
 */
function provenFast(pool: MatchContributor[], measured: number[]): MatchContributor[] {
  if (measured.length === 0) return pool;
  measured.sort((a, b) => a - b);
  const bar = measured[(measured.length - 1) >> 1]!;
  return pool.filter((c) => c.speed !== undefined && c.speed >= bar);
}
