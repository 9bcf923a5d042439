/**
 * The client's bookkeeping for one shard: the runs leased for it, their outputs, and the verdict that
 * follows each new output. Pure logic (no I/O), so the verification rules are unit-tested:
 * - an unverified shard: the first valid output is paid and used; later duplicates (speculative copies of a
 *   straggler) are neither paid nor rejected;
 * - a verified shard (the coordinator planned a replica, or a replica lease showed up): the first two outputs
 *   are compared within the tolerance; equal -> both paid; different -> a dispute asks for a third run, and
 *   the strict majority of three is paid and used while the odd one out is rejected.
 * A pipeline stage that keeps its outputs for the next stage reports only their hash: two equal hashes agree;
 * when hashes differ the outputs are needed to compare within the tolerance, and a 'fetch' verdict names the runs
 * whose outputs the client must pull (then `fill` them in).
 */
import type { Lease } from '../protocol/coordinator.ts';
import type { TensorData } from '../protocol/tensor.ts';
import { compareOutputs, majority, type Tolerance } from '../core/verify.ts';

/** One run of a shard as the client sees it. */
export interface RunRecord {
  leaseId: string;
  contributor: string;
  replica: boolean;
  outputs?: TensorData[];
  outputHash?: string;
  paid: boolean;
  rejected: boolean;
}

/** What the client must do after an output arrived. */
export type Verdict =
  | { kind: 'receipt'; leaseId: string }
  | { kind: 'reject'; leaseId: string; reason: 'verification-failed' }
  | { kind: 'dispute' }
  | { kind: 'settle'; leaseId: string }
  | { kind: 'fetch'; leaseIds: string[] };

/** Runs and verdicts of one shard. */
export class ShardTally {
  readonly index: number;
  readonly #tolerance: Tolerance;
  readonly #runs = new Map<string, RunRecord>();
  #expectedRuns: number;
  #disputed = false;
  #waived = false;
  #settledBy: string | undefined;
  #settledOutputs: TensorData[] | undefined;

  constructor(index: number, tolerance: Tolerance, expectedRuns = 1) {
    this.index = index;
    this.#tolerance = tolerance;
    this.#expectedRuns = expectedRuns;
  }

  /** Whether the shard has accepted output. */
  get settled(): boolean {
    return this.#settledBy !== undefined;
  }

  /** The accepted output (the majority's, once a dispute is decided). */
  get outputs(): TensorData[] | undefined {
    return this.#settledOutputs;
  }

  /** The run whose output is used. */
  get settledBy(): RunRecord | undefined {
    return this.#settledBy === undefined ? undefined : this.#runs.get(this.#settledBy);
  }

  /** Whether two runs disagreed and a third decides. */
  get disputed(): boolean {
    return this.#disputed;
  }

  /** Whether outputs are compared before payment. */
  get verified(): boolean {
    return this.#expectedRuns > 1 || this.#disputed;
  }

  /** Marks the shard verified (the coordinator said it plans a replica). */
  expectReplica(): void {
    if (!this.#waived) this.#expectedRuns = Math.max(this.#expectedRuns, 2);
  }

  /**
   * The coordinator waived verification (no second eligible contributor exists): the shard no longer waits
   * for a replica. Returns what to do with an output already here.
   */
  waive(): Verdict[] {
    this.#waived = true;
    this.#expectedRuns = 1;
    if (this.#disputed || this.settled) return [];
    const first = [...this.#runs.values()].find((r) => r.outputHash !== undefined && !r.rejected);
    return first ? [this.#pay(first), this.#settle(first)] : [];
  }

  /** A run whose output has this hash and is here, if any. */
  withHash(outputHash: string): RunRecord | undefined {
    for (const r of this.#runs.values()) if (r.outputHash === outputHash && r.outputs) return r;
    return undefined;
  }

  /** A run that reported this output hash (its outputs may be kept by a pipeline stage, not here). */
  runWithHash(outputHash: string): RunRecord | undefined {
    for (const r of this.#runs.values()) if (r.outputHash === outputHash) return r;
    return undefined;
  }

  /** The record of a lease, if it belongs to this shard. */
  run(leaseId: string): RunRecord | undefined {
    return this.#runs.get(leaseId);
  }

  /** Records a new lease for this shard. */
  addLease(lease: Pick<Lease, 'leaseId' | 'contributor' | 'replica' | 'verified'>): RunRecord {
    if (lease.replica || lease.verified) this.expectReplica();
    const record: RunRecord = { leaseId: lease.leaseId, contributor: lease.contributor, replica: lease.replica, paid: false, rejected: false };
    this.#runs.set(lease.leaseId, record);
    return record;
  }

  /** Forgets a run that ended without usable output (released, failed, rejected), unless it was paid. */
  drop(leaseId: string): void {
    const run = this.#runs.get(leaseId);
    if (run && !run.paid) this.#runs.delete(leaseId);
  }

  /**
   * Records a run's valid output (or only its hash, for outputs kept by a pipeline stage) and returns what to do
   * next.
   */
  output(leaseId: string, outputs: TensorData[] | undefined, outputHash: string): Verdict[] {
    const run = this.#runs.get(leaseId);
    if (!run || run.rejected || run.outputHash !== undefined) return [];
    if (outputs) run.outputs = outputs;
    run.outputHash = outputHash;
    if (!this.verified) {
      if (this.settled) return []; // a speculative duplicate: the first valid result won
      return [this.#pay(run), this.#settle(run)];
    }
    return this.#judge();
  }

  /** The outputs of a run that reported only their hash arrived (after a 'fetch'): judge again. */
  fill(leaseId: string, outputs: TensorData[]): Verdict[] {
    const run = this.#runs.get(leaseId);
    if (!run || run.rejected || run.outputs || run.outputHash === undefined) return [];
    run.outputs = outputs;
    return this.verified ? this.#judge() : [];
  }

  #judge(): Verdict[] {
    const complete = [...this.#runs.values()].filter((r) => r.outputHash !== undefined && !r.rejected);
    // Runs are compared by value only when their hashes differ; without their outputs, ask for them first.
    const fetch = (runs: RunRecord[]): Verdict[] => {
      const hashes = new Set(runs.map((r) => r.outputHash));
      const missing = hashes.size > 1 ? runs.filter((r) => !r.outputs).map((r) => r.leaseId) : [];
      return missing.length > 0 ? [{ kind: 'fetch', leaseIds: missing }] : [];
    };
    if (!this.#disputed) {
      if (complete.length < 2) return [];
      const [a, b] = complete as [RunRecord, RunRecord];
      const need = fetch([a, b]);
      if (need.length > 0) return need;
      // Equal hashes are equal bytes; outputs at hand are compared as ever.
      const same = a.outputs && b.outputs ? compareOutputs(a.outputs, b.outputs, this.#tolerance).ok : a.outputHash === b.outputHash;
      if (same) {
        const verdicts: Verdict[] = [];
        for (const r of [a, b]) if (!r.paid) verdicts.push(this.#pay(r));
        if (!this.settled) verdicts.push(this.#settle(a));
        return verdicts;
      }
      this.#disputed = true;
      return [{ kind: 'dispute' }];
    }
    if (complete.length < 3) return [];
    const three = complete.slice(0, 3);
    const need = fetch(three);
    if (need.length > 0) return need;
    // Three equal hashes cannot be a dispute; with some equal, their outputs stand in for each other.
    const outputsOf = (r: RunRecord) => r.outputs ?? three.find((o) => o.outputHash === r.outputHash && o.outputs)!.outputs!;
    const agree = majority(three.map(outputsOf), this.#tolerance).map((i) => three[i]!);
    const verdicts: Verdict[] = [];
    for (const r of three) {
      if (agree.includes(r)) {
        if (!r.paid) verdicts.push(this.#pay(r));
      } else if (!r.paid) {
        r.rejected = true;
        this.#runs.delete(r.leaseId);
        verdicts.push({ kind: 'reject', leaseId: r.leaseId, reason: 'verification-failed' });
      }
    }
    // No majority: every unpaid run was rejected; the next two runs are compared afresh.
    if (agree.length === 0) this.#disputed = false;
    // The majority's output is the result even if a loser's was used (and paid) before the replica showed up.
    if (agree.length > 0 && this.#settledBy !== agree[0]!.leaseId && !agree.some((r) => r.leaseId === this.#settledBy)) {
      verdicts.push(this.#settle(agree[0]!));
    }
    return verdicts;
  }

  #pay(run: RunRecord): Verdict {
    run.paid = true;
    return { kind: 'receipt', leaseId: run.leaseId };
  }

  #settle(run: RunRecord): Verdict {
    this.#settledBy = run.leaseId;
    this.#settledOutputs = run.outputs;
    return { kind: 'settle', leaseId: run.leaseId };
  }
}
