/**
 * A job as the market tracks it: its shards, the runs of each, and the job's budget. Every money rule that
 * depends on the job lives here, in one place:
 *
 * - Escrow covers MAX_RUNS_PER_SHARD runs of every shard at the bid (primary, a verification replica, and a
 *   tie-breaker or arbitration run), so any verification the coordinator decides on is paid for.
 * - A run "may be paid" while it is leased, claimed, contested or paid; released and rejected runs never are.
 *   At most MAX_RUNS_PER_SHARD runs of a shard may be paid, so `committed <= escrow` holds by construction.
 * - `committed` is what the job can still end up paying: runs that may be paid at their lease price, plus
 *   unfilled slots at the bid. It is recomputed per shard (`#budget`), never adjusted by hand elsewhere.
 *
 * Runs per shard: 1 (or 2 when the shard is verified), plus 1 tie-breaker when two claims disagree. A run
 * the client contested is set aside (it does not count as a result) and its slot refilled by an arbitration
 * run, which decides it. Which shards are verified is known to the coordinator and the job's owner only.
 */
import type { JobSpec, JobStatus, JobWait, Lease, Receipt } from '../../src/protocol/coordinator.ts';
import type { ShardSpec } from '../../src/protocol/kernel.ts';
import { feeFor, settlementFor, shardMaxCost } from '../../src/core/cost.ts';
import { cachedPayment, latencyMultiplier } from '../../src/core/latency.ts';

/** Runs of one shard that may ever be paid: what the escrow covers. */
export const MAX_RUNS_PER_SHARD = 3;

/** Why a run exists: the first result, a verification replica, a tie-breaker, or an arbiter of a complaint. */
export type RunRole = 'primary' | 'replica' | 'tiebreak' | 'arbiter';
/** Where a run stands. */
export type RunState = 'leased' | 'claimed' | 'contested' | 'paid' | 'rejected';

/** One lease and what happened on it. */
export interface Run {
  /** The client's view of the lease (its `replica` flag is not shown to the contributor). */
  lease: Lease;
  role: RunRole;
  /** Placement key of the contributor's network when it was assigned (see market/networks.ts). */
  network: string;
  startedAt: number;
  state: RunState;
  /** The contributor's signed claim of its output. */
  claim?: { outputHash: string; at: number; signature: string };
  /** The client's signed receipt, when it paid the run itself. */
  receipt?: { receipt: Receipt; signature: string };
  /** Lease expiry (leased) or end of the claim window (claimed). */
  timer?: ReturnType<typeof setTimeout>;
  /** End of the capacity hold after a claim. */
  holdTimer?: ReturnType<typeof setTimeout>;
  /** A payment is being written to the ledger. */
  settling?: Promise<boolean>;
  /** A speculative duplicate: the lease id of the straggler it races (market/speculation.ts). */
  twinOf?: string;
  /** A pipeline stage's output that is gone (its holder left or dropped it): it no longer counts as the shard's
   * result, though what it earned stands (market/pipelines.ts). */
  lost?: boolean;
  /** A pipeline lease's inputs: the upstream lease it pulls them from. */
  from?: string;
}

/** One shard's state. */
export interface ShardRecord {
  spec: ShardSpec;
  /** Two agreeing runs are needed (the client sampled it, or the coordinator chose to replicate it). */
  verify: boolean;
  /** The client's verifyFraction sampled it. */
  sampled: boolean;
  /** Verification was given up because no second eligible contributor existed. */
  waived: boolean;
  /** A tie-breaking slot was added after two claims disagreed. */
  tiebreak: boolean;
  /** Runs that may still be paid, were paid, or were rejected (released runs are dropped). */
  runs: Run[];
  /** Contributors that must not run this shard again. */
  barred?: Set<string>;
  /** Contributors whose runs of this shard failed (released without a result): how often, and until when they
   * are kept off it (market/failures.ts). Not stored: a restart forgives. */
  failures?: Map<string, { count: number; until: number }>;
  /** The output hash the shard settled on, when agreement or payment decided it. */
  acceptedHash?: string;
  done: boolean;
  /** When a verifier slot first found no eligible contributor at all (for the waiver). */
  unplacedSince?: number;
  /** This shard's part of `Job.committed`. */
  committed: number;
  /** Its result cache key (market/result-cache.ts), for a job submitted here. */
  cacheKey?: string;
  /** The cache was looked at and cannot serve it: compute it. */
  cacheTried?: boolean;
  /** A holder of its verified output is busy: matching leaves it for the cache (market/cache-serve.ts). */
  cacheWaiting?: boolean;
  /** It was answered from a contributor's cache with this output hash, verified by an earlier agreement. */
  fromCache?: string;
}

/** States a job ends in. */
export type FinalState = Exclude<JobStatus['state'], 'running'>;

/** A job in the market. */
export class Job {
  readonly shards: ShardRecord[];
  state: JobStatus['state'] = 'running';
  /** Why the job failed or was ended by the coordinator. */
  reason?: JobStatus['reason'];
  /** Why its queued shards wait, as last explained to the client (market/waits.ts). */
  wait?: JobWait;
  /** Runs claimed so far and their total time from lease to claim (for estimates). */
  readonly runTimes = { count: 0, totalMs: 0 };
  /** Contributors that reported a shard of it wrong ('bad-input'). */
  readonly badInput = new Set<string>();
  /** Micro-credits held in escrow. */
  readonly escrow: number;
  committed = 0;
  spent = 0;
  fees = 0;
  refunded = 0;
  /** Shard indices that need another run (kept up to date by `refresh`). */
  readonly pending = new Set<number>();
  /** Of those, the ones without a live run (their next run is a primary): a round finds them without walking
   * shards that wait for a verifier. */
  readonly unstarted = new Set<number>();
  deadlineTimer?: ReturnType<typeof setTimeout>;
  /** Payments in flight, awaited before the escrow is refunded. */
  readonly inflight = new Set<Promise<unknown>>();
  /** Told of every change to a shard (the market persists it). */
  onChange: ((shard: number) => void) | undefined;
  /** Pipeline stages (market/pipelines.ts): the stage job before and after this one. */
  upstream?: Job;
  downstream?: Job;
  /** A later pipeline stage's shards whose inputs do not exist yet: not matchable. */
  readonly awaiting: Set<number>;
  /** Contributors that ran this pipeline stage (placement prefers them for its next micro-batches). */
  readonly stageHolders = new Set<string>();
  readonly #done = new Set<number>();

  constructor(
    readonly jobId: string,
    readonly client: string,
    readonly spec: JobSpec,
    readonly seq: number,
    readonly submittedAt: number,
    sampled: ReadonlySet<number>,
    escrow: number,
    readonly feeRate: number,
    /** Characters of the submit frame, counted against the client's byte cap. */
    readonly bytes: number,
  ) {
    this.escrow = escrow;
    this.awaiting = new Set(spec.pipeline && spec.pipeline.stage > 0 ? spec.shards.map((_, i) => i) : []);
    this.shards = spec.shards.map((s, i) => ({ spec: s, verify: sampled.has(i), sampled: sampled.has(i), waived: false, tiebreak: false, runs: [], done: false, committed: 0 }));
    for (let i = 0; i < this.shards.length; i++) this.refresh(i);
  }

  /** The bid times the job's latency tier multiplier (core/latency.ts): the most a run's price can be. */
  get tierBid(): number {
    return this.spec.bid * latencyMultiplier(this.spec.latencyMs);
  }

  /** Most one run of shard `i` costs at the tier bid (payment + fee). */
  bidCost(i: number): number {
    return shardMaxCost(this.shards[i]!.spec.workUnits, this.tierBid, this.feeRate);
  }

  /** What one run of shard `i` under `lease` costs: the contributor's amount and the protocol fee (a cached
   * answer at the cache rate). */
  runCost(i: number, lease: { price: number; cached?: string }): { amount: number; fee: number } {
    const units = this.shards[i]!.spec.workUnits;
    if (lease.cached === undefined) return settlementFor(units, lease.price, this.feeRate);
    const amount = cachedPayment(units, lease.price);
    return { amount, fee: feeFor(amount, this.feeRate) };
  }

  /** Escrow not yet spoken for. */
  get headroom(): number {
    return this.escrow - this.committed;
  }

  /** Runs of shard `i` still to assign. */
  needed(i: number): number {
    const s = this.shards[i]!;
    if (s.done || this.state !== 'running') return 0;
    let live = 0;
    let payable = 0;
    for (const r of s.runs) {
      if (!r.lost && (r.state === 'leased' || r.state === 'claimed' || r.state === 'paid')) live++;
      if (r.state !== 'rejected') payable++;
    }
    const target = (s.verify && !s.waived ? 2 : 1) + (s.tiebreak ? 1 : 0);
    return Math.max(0, Math.min(target - live, MAX_RUNS_PER_SHARD - payable));
  }

  /** The role the next run of shard `i` takes. */
  nextRole(i: number): RunRole {
    const s = this.shards[i]!;
    const live = s.runs.filter((r) => r.state !== 'rejected' && !r.lost);
    if (live.length === 0) return 'primary';
    if (live.some((r) => r.state === 'contested')) return 'arbiter';
    return s.tiebreak ? 'tiebreak' : 'replica';
  }

  /** Records a new lease of shard `i` and re-derives its state. */
  lease(i: number, run: Run): void {
    this.shards[i]!.runs.push(run);
    this.refresh(i);
  }

  /** Drops a leased run that ended without a claim (expired, released, contributor gone). */
  release(i: number, run: Run): void {
    const s = this.shards[i]!;
    s.runs = s.runs.filter((r) => r !== run);
    this.refresh(i);
  }

  /** Records a contributor's claim on a leased run. */
  claim(i: number, run: Run, outputHash: string, signature: string, at: number): void {
    run.state = 'claimed';
    run.claim = { outputHash, at, signature };
    this.runTimes.count++;
    this.runTimes.totalMs += Math.max(0, at - run.startedAt);
    this.refresh(i);
  }

  /** Records a payment written to the ledger. */
  settle(i: number, run: Run, amount: number, fee: number): void {
    run.state = 'paid';
    this.spent += amount;
    this.fees += fee;
    this.refresh(i);
  }

  /** A run rejected on evidence: never paid, and its contributor never runs this shard again. */
  reject(i: number, run: Run): void {
    run.state = 'rejected';
    this.bar(i, run.lease.contributor);
    this.refresh(i);
  }

  /** A claimed run the client complained about: set aside until an arbitration run decides it. */
  contest(i: number, run: Run): void {
    run.state = 'contested';
    this.bar(i, run.lease.contributor);
    this.refresh(i);
  }

  /** Shard `i` needs two agreeing runs from now on. */
  replicate(i: number): void {
    this.shards[i]!.verify = true;
    this.refresh(i);
  }

  /** Adds the tie-breaking slot to a verified shard whose two claims disagree. */
  addTiebreak(i: number): void {
    this.shards[i]!.tiebreak = true;
    this.refresh(i);
  }

  /** Gives up verification of shard `i`: no second eligible contributor exists. */
  waive(i: number): void {
    this.shards[i]!.waived = true;
    this.refresh(i);
  }

  /**
   * Opens done shard `i` again because its output is gone (a pipeline stage's holder left): its runs with a
   * result are set aside as lost (paid or payable as before) and a fresh run is needed. False when the escrow
   * covers no further run of it.
   */
  reopen(i: number): boolean {
    const s = this.shards[i]!;
    if (!s.done || this.state !== 'running') return false;
    const payable = s.runs.filter((r) => r.state !== 'rejected').length;
    if (payable >= MAX_RUNS_PER_SHARD) return false;
    for (const r of s.runs) if (r.state !== 'rejected') r.lost = true;
    s.done = false;
    s.tiebreak = false;
    delete s.acceptedHash;
    delete s.unplacedSince;
    this.refresh(i);
    return true;
  }

  /** Whether shard `i`'s inputs exist (always, but for a later pipeline stage waiting on the one before). */
  inputReady(i: number): boolean {
    return !this.awaiting.has(i);
  }

  /** Marks shard `i` decided on `hash` (or on a paid run without agreement) and done. */
  finishShard(i: number, hash: string | undefined): void {
    const s = this.shards[i]!;
    if (hash !== undefined) s.acceptedHash = hash;
    s.done = true;
    this.refresh(i);
  }

  /** Keeps `contributor` off shard `i`. */
  bar(i: number, contributor: string): void {
    const s = this.shards[i]!;
    (s.barred ??= new Set()).add(contributor);
  }

  /** Re-derives shard `i`'s done/pending flags and its part of the budget. */
  refresh(i: number): void {
    const s = this.shards[i]!;
    if (s.done) this.#done.add(i);
    else this.#done.delete(i);
    if (this.needed(i) > 0) this.pending.add(i);
    else this.pending.delete(i);
    if (this.pending.has(i) && this.nextRole(i) === 'primary') this.unstarted.add(i);
    else this.unstarted.delete(i);
    const budget = this.#budget(i);
    this.committed += budget - s.committed;
    s.committed = budget;
    this.onChange?.(i);
    if (this.committed > this.escrow) {
      throw new RangeError(`Cannot commit ${this.committed} micro-credits for job ${this.jobId} as its escrow holds ${this.escrow}`);
    }
  }

  /** What shard `i` can still cost: runs that may be paid at their price, open slots at the bid. */
  #budget(i: number): number {
    const s = this.shards[i]!;
    let total = 0;
    for (const r of s.runs) {
      if (r.state === 'rejected') continue;
      const { amount, fee } = this.runCost(i, r.lease);
      total += amount + fee;
    }
    return total + this.needed(i) * this.bidCost(i);
  }

  /**
   * Puts shard `i` back as it was stored (resuming a job after a restart or on another instance): flags,
   * runs, and the payments already made (spent and fees of its paid runs).
   */
  restore(i: number, stored: { verify: boolean; waived: boolean; tiebreak: boolean; done: boolean; acceptedHash?: string; barred?: string[]; runs: Run[] }): void {
    const s = this.shards[i]!;
    Object.assign(s, { verify: stored.verify, waived: stored.waived, tiebreak: stored.tiebreak, done: stored.done, runs: stored.runs });
    if (stored.acceptedHash !== undefined) s.acceptedHash = stored.acceptedHash;
    if (stored.barred?.length) s.barred = new Set(stored.barred);
    for (const r of s.runs) {
      if (r.state !== 'paid') continue;
      const { amount, fee } = this.runCost(i, r.lease);
      this.spent += amount;
      this.fees += fee;
    }
    this.refresh(i);
  }

  /** Contributors that must not get another run of shard `i` now: holders, payees, barred, cooling off a failure. */
  exclusions(i: number, now = Date.now()): Set<string> {
    const s = this.shards[i]!;
    const out = new Set(s.barred);
    for (const r of s.runs) out.add(r.lease.contributor);
    if (s.failures) for (const [peer, f] of s.failures) if (f.until > now) out.add(peer);
    return out;
  }

  /** Networks of the runs of shard `i` that may still count, which a verifier must differ from. */
  networks(i: number): Set<string> {
    const out = new Set<string>();
    for (const r of this.shards[i]!.runs) if (r.state !== 'rejected' && !r.lost) out.add(r.network);
    return out;
  }

  /** Shards done. */
  get doneCount(): number {
    return this.#done.size;
  }

  /** Whether every shard is done. */
  get complete(): boolean {
    return this.#done.size === this.shards.length;
  }

  /** The wire status. */
  status(): JobStatus {
    return {
      jobId: this.jobId,
      state: this.state,
      shards: this.shards.length,
      settled: this.doneCount,
      escrow: this.escrow,
      spent: this.spent,
      fees: this.fees,
      refunded: this.refunded,
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.wait && this.state === 'running' ? { wait: this.wait } : {}),
    };
  }
}
