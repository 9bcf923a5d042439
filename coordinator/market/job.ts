/**
 * A job as the market tracks it: its shards, each with the runs it still needs, the leases working on it
 * and the runs already paid, plus the job's budget.
 *
 * Runs per shard ("slots"): 1, plus 1 replica when the shard is verified, plus 1 tie-breaker after a
 * dispute. A shard is done when as many runs are settled as it has slots. A verification-failed reject of
 * a disputed shard removes the loser's slot together with the dispute (the tie-breaker took its place).
 *
 * Budget: `committed` is the most the job can still end up paying for the slots it has: settled and leased
 * runs at their lease price, unfilled slots at the bid. It never exceeds the escrow held; adding a slot
 * (adaptive replication, dispute) is allowed only while it fits.
 */
import type { JobSpec, JobStatus, Lease } from '../../src/protocol/coordinator.ts';
import type { ShardSpec } from '../../src/protocol/kernel.ts';
import { settlementFor, shardMaxCost, shardPayment } from '../../src/core/cost.ts';

/** One lease and what happened on it. */
export interface Run {
  lease: Lease;
  startedAt: number;
  /** The contributor's signed claim of its output. */
  claim?: { outputHash: string; at: number };
  /** Expiry timer while unclaimed. */
  timer?: ReturnType<typeof setTimeout>;
  /** A receipt is being paid (guards against a concurrent duplicate). */
  settling?: Promise<unknown>;
}

/** One shard's state. */
export interface ShardRecord {
  spec: ShardSpec;
  verified: boolean;
  disputes: number;
  /** Leases in flight (claimed or not). */
  active: Map<string, Run>;
  /** Paid runs by lease id. */
  settled: Map<string, Run>;
  /** Contributors whose output for this shard was rejected as wrong: never asked again. */
  rejected: Set<string>;
  done: boolean;
}

/** States a job ends in. */
export type FinalState = Exclude<JobStatus['state'], 'running'>;

/** A job in the market. */
export class Job {
  readonly shards: ShardRecord[];
  state: JobStatus['state'] = 'running';
  /** Micro-credits held in escrow. */
  escrow: number;
  committed = 0;
  spent = 0;
  fees = 0;
  refunded = 0;
  doneCount = 0;
  /** Shard indices that need another run (kept up to date by `refresh`). */
  readonly pending = new Set<number>();
  deadlineTimer?: ReturnType<typeof setTimeout>;
  /** The client's signature over the job, kept to refuse a replayed submit. */
  signature = '';
  /** Settlements in flight, awaited before the escrow is refunded. */
  readonly inflight = new Set<Promise<unknown>>();

  constructor(
    readonly jobId: string,
    readonly client: string,
    readonly spec: JobSpec,
    readonly seq: number,
    readonly submittedAt: number,
    verified: ReadonlySet<number>,
    escrow: number,
    readonly feeRate: number,
  ) {
    this.escrow = escrow;
    this.shards = spec.shards.map((s, i) => ({
      spec: s,
      verified: verified.has(i),
      disputes: 0,
      active: new Map(),
      settled: new Map(),
      rejected: new Set(),
      done: false,
    }));
    for (let i = 0; i < this.shards.length; i++) {
      this.committed += this.slots(i) * this.bidCost(i);
      this.refresh(i);
    }
  }

  /** Runs the shard must have paid before it is done. */
  slots(i: number): number {
    const s = this.shards[i]!;
    return 1 + (s.verified ? 1 : 0) + s.disputes;
  }

  /** Runs still to assign. */
  needed(i: number): number {
    const s = this.shards[i]!;
    return Math.max(0, this.slots(i) - s.settled.size - s.active.size);
  }

  /** Most one run of shard `i` costs at the bid (payment + fee). */
  bidCost(i: number): number {
    return shardMaxCost(this.shards[i]!.spec.workUnits, this.spec.bid, this.feeRate);
  }

  /** What one run of shard `i` costs at `price` (payment + fee). */
  runCost(i: number, price: number): number {
    const { amount, fee } = settlementFor(this.shards[i]!.spec.workUnits, price, this.feeRate);
    return amount + fee;
  }

  /** Escrow not yet spoken for. */
  get headroom(): number {
    return this.escrow - this.committed;
  }

  /** Re-derives the shard's pending/done flags; returns true when it has just become done. */
  refresh(i: number): boolean {
    const s = this.shards[i]!;
    const wasDone = s.done;
    s.done = s.settled.size >= this.slots(i);
    if (s.done !== wasDone) this.doneCount += s.done ? 1 : -1;
    if (!s.done && this.state === 'running' && this.needed(i) > 0) this.pending.add(i);
    else this.pending.delete(i);
    return s.done && !wasDone;
  }

  /** Contributors that must not get another run of shard `i`: holders, payees and rejected ones. */
  exclusions(i: number): Set<string> {
    const s = this.shards[i]!;
    const out = new Set(s.rejected);
    for (const r of s.active.values()) out.add(r.lease.contributor);
    for (const r of s.settled.values()) out.add(r.lease.contributor);
    return out;
  }

  /** Whether every shard is done. */
  get complete(): boolean {
    return this.doneCount === this.shards.length;
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
    };
  }

  /** Status with `shards` as a per-shard breakdown instead of a count (GET /api/jobs/:jobId). */
  detail(): JobDetail {
    return { ...this.status(), shards: this.shards.map((s, index) => shardView(s, index, this.slots(index))) };
  }
}

/** A job's status with one entry per shard. */
export type JobDetail = Omit<JobStatus, 'shards'> & { shards: ShardView[] };

/** One shard in the job detail. */
export interface ShardView {
  index: number;
  state: 'queued' | 'leased' | 'done';
  contributor?: string;
  replicas: number;
  runs: number;
  /** Each paid run: who ran it and what it was paid (micro-credits, fee excluded). */
  paid: { leaseId: string; contributor: string; amount: number }[];
}

function shardView(s: ShardRecord, index: number, slots: number): ShardView {
  const state = s.done ? 'done' : s.active.size > 0 ? 'leased' : 'queued';
  const first = [...s.settled.values(), ...s.active.values()].find((r) => !r.lease.replica) ??
    s.settled.values().next().value ?? s.active.values().next().value;
  const paid = [...s.settled.values()].map((r) => ({
    leaseId: r.lease.leaseId,
    contributor: r.lease.contributor,
    amount: shardPayment(s.spec.workUnits, r.lease.price),
  }));
  const view: ShardView = { index, state, replicas: slots - 1, runs: s.settled.size, paid };
  if (first) view.contributor = first.lease.contributor;
  return view;
}
