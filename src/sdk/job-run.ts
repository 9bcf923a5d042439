/**
 * One job from the client's side: submit the signed job, serve every lease the coordinator assigns (move
 * inputs, take outputs, check them), compare replicated shards within the job's tolerance, pay accepted runs
 * with signed receipts, complain about bad ones, and settle when the coordinator reports the job's end. A
 * lease whose link dies is rejected as 'transfer-failed' unless the coordinator already released it, so a
 * shard is never silently lost; one the contributor failed (it says so on the link) is rejected only when the
 * coordinator does not release it first, since a contributor reports its own faults to the coordinator too, and
 * those are not held against its output.
 *
 * Every handle settles (job-end.ts): the job's status is watched (job-watch.ts), so a job that ended while the
 * client was away, or that the coordinator no longer knows, ends here too.
 *
 * The coordinator decides: a shard counts as done only when its `verdict` arrives, and its output is the
 * output of a run that claimed the verdict's hash. A shard the client paid early (it did not know a replica
 * would follow) therefore still ends on the verified output.
 */
import { toBase64Url } from '../core/encoding.ts';
import { type JobSpec, type JobStatus, type JobWait, type Lease, signedText, type SubmitResult } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { RemoteFailure } from '../mesh/lease-inbox.ts';
import { CostRecord, endError, lostError } from './job-end.ts';
import type { JobPlan } from './job-plan.ts';
import { rejectReason, transferLease } from './lease-transfer.ts';
import { isJobStatus, JobWatch } from './job-watch.ts';
import type { JobPush, JobRouter, SessionContext } from './session.ts';
import { ShardTally, type Verdict } from './shard-tally.ts';
import type { JobCost, JobHandle, JobProgress } from './types.ts';
import type { TensorData } from '../protocol/tensor.ts';
import { sendReceipt } from './job-receipt.ts';
import { progressDetail, type ProgressNote } from './job-progress.ts';
import { fetchKept } from './kept-outputs.ts';
import { aborted, RELEASE_WAIT_MS } from './release-wait.ts';
import { OUTPUT_GRACE_MS, type ResolvedJobOptions } from './job-options.ts';

export { RELEASE_WAIT_MS } from './release-wait.ts';
export { OUTPUT_GRACE_MS, type ResolvedJobOptions } from './job-options.ts';

type RejectReason = 'hash-mismatch' | 'verification-failed' | 'transfer-failed' | 'bad-output';

/** A job in flight; the JobHandle the SDK returns. */
export class JobRun<T> extends EventTarget implements JobHandle<T> {
  readonly jobId: Promise<string>;
  readonly result: Promise<T>;
  readonly cost: Promise<JobCost>;
  readonly #ctx: SessionContext;
  readonly #router: JobRouter;
  readonly #options: ResolvedJobOptions;
  readonly #leases = new Map<string, { lease: Lease; ctrl: AbortController }>();
  readonly #settled = new Set<number>();
  /** The coordinator's decided output hash per shard (verdicts may come before the output arrives). */
  readonly #decided = new Map<number, string>();
  readonly #outputs = new Map<number, TensorData[]>();
  #plan: JobPlan<T> | undefined;
  #tallies: ShardTally[] = [];
  #id: string | undefined;
  #finished = false;
  /** The final status of a done job that waits for outputs still in flight, and the timer bounding that wait. */
  #ending: { status: JobStatus; timer: ReturnType<typeof setTimeout> } | undefined;
  #wait: JobWait | undefined;
  #cancelRequested = false;
  #resolveId!: (id: string) => void;
  #rejectId!: (err: Error) => void;
  #resolveResult!: (value: T) => void;
  #rejectResult!: (err: Error) => void;
  #resolveCost!: (cost: JobCost) => void;
  #rejectCost!: (err: Error) => void;
  #resultDone = false;
  readonly #cost = new CostRecord();
  #watch: JobWatch | undefined;

  constructor(ctx: SessionContext, router: JobRouter, plan: Promise<JobPlan<T>>, options: ResolvedJobOptions) {
    super();
    this.#ctx = ctx;
    this.#router = router;
    this.#options = options;
    this.jobId = new Promise((res, rej) => ((this.#resolveId = res), (this.#rejectId = rej)));
    this.result = new Promise((res, rej) => ((this.#resolveResult = res), (this.#rejectResult = rej)));
    this.cost = new Promise((res, rej) => ((this.#resolveCost = res), (this.#rejectCost = rej)));
    // Callers may await only one of these; the others must not raise unhandled rejections.
    for (const p of [this.jobId, this.result, this.cost]) p.catch(() => {});
    void this.#start(plan);
  }

  /** Asks the coordinator to cancel; unfinished shards are refunded and `result` rejects with 'cancelled'. */
  async cancel(): Promise<void> {
    if (this.#finished) return;
    this.#cancelRequested = true;
    if (this.#id === undefined) return; // #start cancels right after submitting
    let answer: unknown;
    try {
      answer = await this.#ctx.coordinator.request<unknown>({ type: 'cancel', jobId: this.#id }, { idempotent: true });
    } catch (err) {
      if (!(err instanceof MeshError) || err.code !== 'not-found') throw err;
      this.#lost();
      return;
    }
    const status = isJobStatus(answer) ? answer : isJobStatus((answer as { status?: unknown } | null)?.status) ? (answer as { status: JobStatus }).status : undefined;
    if (status) this.#finish(status);
  }

  /** Handles a push routed to this job. */
  onPush(frame: JobPush): void {
    if (frame.type === 'assigned') this.#onAssigned(frame.lease);
    else if (frame.type === 'released') this.#onReleased(frame);
    else if (frame.type === 'verdict') this.#onVerdict(frame.shard, frame.state, frame.outputHash);
    else if (frame.type === 'waiting') this.#onWait(frame.wait ?? undefined);
    else this.#onStatus(frame.status);
  }

  /** Why the job's queued shards wait (undefined: none waits any more); told once per change. */
  #onWait(wait: JobWait | undefined): void {
    if (this.#finished || JSON.stringify(wait) === JSON.stringify(this.#wait)) return;
    const was = this.#wait;
    this.#wait = wait;
    if (wait) this.#progress({ state: 'waiting', wait });
    else if (was && this.#settled.size < this.#tallies.length) this.#progress({ state: 'running' });
  }

  async #start(planPromise: Promise<JobPlan<T>>): Promise<void> {
    try {
      const plan = await planPromise;
      this.#plan = plan;
      const { bid, verifyFraction, tolerance, deadlineMs } = this.#options;
      this.#tallies = plan.shards.map((s) => new ShardTally(s.spec.index, tolerance));
      const job: JobSpec = {
        kernel: plan.kernel,
        shards: plan.shards.map((s) => s.spec),
        bid,
        verifyFraction,
        tolerance: { ...tolerance },
        deadlineMs,
        nonce: toBase64Url(crypto.getRandomValues(new Uint8Array(16))),
        ...(plan.pipeline ? { pipeline: plan.pipeline.spec } : {}),
      };
      const signature = await this.#ctx.identity.sign(signedText('job', job));
      const submitted = await this.#ctx.coordinator.request<SubmitResult>({ type: 'submit', job, signature });
      this.#id = submitted.jobId;
      this.#cost.held(submitted.escrow);
      if (submitted.status) this.#cost.status(submitted.status);
      this.#watch = new JobWatch(this.#ctx.coordinator, submitted.jobId, {
        running: (status) => this.#cost.status(status),
        ended: (status) => this.#finish(status),
        lost: () => this.#lost(),
      });
      this.#router.register(submitted.jobId, this);
      this.#resolveId(submitted.jobId);
      if (submitted.status && submitted.status.state !== 'running') this.#finish(submitted.status);
      else if (this.#cancelRequested) await this.cancel();
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #onAssigned(lease: Lease): void {
    let tally = this.#tallies[lease.shard];
    const plan = this.#plan;
    // Every lease the coordinator assigns is served: it only adds runs a shard needs (replica, tie-breaker,
    // arbitration of a complaint).
    if (this.#finished || !tally || !plan || this.#leases.has(lease.leaseId)) return;
    // A pipeline stage's shard computed again (its kept output was lost): a fresh run to pay, same result.
    if (plan.pipeline?.keep && this.#settled.has(lease.shard) && tally.settled) tally = this.#retally(lease.shard);
    tally.addLease(lease);
    const ctrl = new AbortController();
    this.#leases.set(lease.leaseId, { lease, ctrl });
    this.#progress({ shard: lease.shard, contributor: lease.contributor, state: 'assigned' });
    void this.#runLease(lease, tally, plan, ctrl.signal);
  }

  async #runLease(lease: Lease, tally: ShardTally, plan: JobPlan<T>, signal: AbortSignal): Promise<void> {
    const shard = plan.shards[lease.shard]!;
    try {
      const link = await this.#ctx.network.link(lease.contributor);
      const pipe = plan.pipeline;
      const job = { spec: shard.spec, inputs: pipe?.pulled ? undefined : shard.inputs, keep: pipe?.keep ?? false, model: plan.model, checkOutputs: plan.checkOutputs, link: this.#options.link };
      const out = await transferLease(link, lease, job, signal);
      if (signal.aborted || this.#finished) return;
      this.#leases.delete(lease.leaseId);
      this.#apply(lease, tally, tally.output(lease.leaseId, out.outputs, out.outputHash));
      this.#tryDecide(lease.shard);
    } catch (err) {
      if (signal.aborted || this.#finished) return; // released or over: the coordinator already knows
      // The contributor failed the lease: it reports why to the coordinator, which releases the lease (its own
      // fault or a job it cannot run, never a wrong output); reject it only if that does not come.
      if (err instanceof RemoteFailure) await aborted(signal, RELEASE_WAIT_MS);
      if (signal.aborted || this.#finished) return;
      tally.drop(lease.leaseId);
      this.#reject(lease, rejectReason(err));
      this.#progress({ shard: lease.shard, contributor: lease.contributor, state: 'failed' });
    } finally {
      if (this.#leases.get(lease.leaseId)?.ctrl.signal === signal) this.#leases.delete(lease.leaseId);
      this.#endIfReady();
    }
  }

  #apply(lease: Lease, tally: ShardTally, verdicts: Verdict[]): void {
    for (const v of verdicts) {
      if (v.kind === 'fetch') void this.#fetch(lease, tally, v.leaseIds);
      else if (v.kind === 'receipt') void this.#pay(lease.shard, tally, v.leaseId);
      else if (v.kind === 'reject') this.#reject({ ...lease, leaseId: v.leaseId }, v.reason);
      else if (v.kind === 'dispute') {
        this.#progress({ shard: lease.shard, state: 'disputed' });
        this.#ctx.coordinator.request({ type: 'dispute', jobId: lease.jobId, shard: lease.shard }, { idempotent: true }).catch(() => {});
      }
      // 'settle': the client's own choice; the shard counts once the coordinator's verdict names its hash.
    }
  }

  /**
   * Pulls the kept outputs of runs of a pipeline stage whose hashes differ (only they are fetched), so they can be
   * compared within the tolerance; a run whose outputs cannot be had is rejected as a failed transfer.
   */
  async #fetch(lease: Lease, tally: ShardTally, leaseIds: string[]): Promise<void> {
    await fetchKept(this.#ctx.network, tally, leaseIds, () => this.#finished, {
      filled: (verdicts) => this.#apply(lease, tally, verdicts),
      failed: (leaseId, contributor) => this.#reject({ ...lease, leaseId, contributor }, 'transfer-failed'),
    });
  }

  /** A fresh tally for a pipeline shard whose kept output is computed again. */
  #retally(shard: number): ShardTally {
    const tally = new ShardTally(shard, this.#options.tolerance);
    this.#tallies[shard] = tally;
    return tally;
  }

  async #pay(shard: number, tally: ShardTally, leaseId: string): Promise<void> {
    const run = tally.run(leaseId);
    if (!run?.outputHash || this.#id === undefined) return;
    const workUnits = this.#plan!.shards[shard]!.spec.workUnits;
    const receipt = { jobId: this.#id, shard, leaseId, contributor: run.contributor, outputHash: run.outputHash, workUnits };
    await sendReceipt(this.#ctx, receipt, this.#cost, () => this.#finished);
  }

  #reject(lease: Lease, reason: RejectReason): void {
    this.#ctx.coordinator
      .request({ type: 'reject', jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, reason }, { idempotent: true })
      .catch(() => {});
  }

  #onReleased(frame: Extract<JobPush, { type: 'released' }>): void {
    const { leaseId } = frame;
    const entry = this.#leases.get(leaseId);
    this.#leases.delete(leaseId);
    entry?.ctrl.abort(new MeshError('cancelled', `Cannot finish lease ${leaseId} as the coordinator released it (${frame.reason})`));
    const shard = entry?.lease.shard ?? this.#tallies.findIndex((t) => t.run(leaseId));
    const contributor = entry?.lease.contributor ?? this.#tallies[shard]?.run(leaseId)?.contributor;
    this.#tallies[shard]?.drop(leaseId);
    if (this.#finished || shard < 0) return;
    this.#progress({ shard, contributor, state: 'released', reason: frame.reason, ...(frame.failure ? { failure: frame.failure } : {}) });
  }

  /** The coordinator decided shard `shard` (with its output's hash), or waived its verification (no hash). */
  #onVerdict(shard: number, state: 'verified' | 'unverified', outputHash: string | undefined): void {
    const tally = this.#tallies[shard];
    if (!tally || this.#finished) return;
    if (outputHash === undefined) {
      // Verification waived: no second eligible contributor exists, so the first valid output will do.
      this.#progress({ shard, state: 'unverified' });
      const verdicts = tally.waive();
      const lease = [...this.#leases.values()].find((l) => l.lease.shard === shard)?.lease;
      if (lease) this.#apply(lease, tally, verdicts);
      else for (const v of verdicts) if (v.kind === 'receipt') void this.#pay(shard, tally, v.leaseId);
      return;
    }
    this.#decided.set(shard, outputHash);
    if (state === 'unverified') this.#progress({ shard, state: 'unverified' });
    this.#tryDecide(shard);
  }

  /** Counts shard `shard` as done once the coordinator decided it and an output with its hash is here. */
  #tryDecide(shard: number): void {
    const hash = this.#decided.get(shard);
    const tally = this.#tallies[shard];
    if (hash === undefined || !tally || this.#settled.has(shard)) return;
    const run = tally.withHash(hash) ?? (this.#plan?.pipeline?.keep ? tally.runWithHash(hash) : undefined);
    // The agreeing run's output is still on its way (a pipeline stage that keeps its outputs has none to wait for).
    if (!run || (!run.outputs && !this.#plan?.pipeline?.keep)) return;
    this.#outputs.set(shard, run.outputs ?? []);
    this.#settled.add(shard);
    this.#progress({ shard, contributor: run.contributor, state: 'settled' });
    this.#maybeResolve();
  }

  #onStatus(status: JobStatus): void {
    if (status.state === 'running') {
      this.#cost.status(status);
      // Status pushes follow payments: they say nothing new to the page unless the wait changed.
      this.#onWait(status.wait);
      return;
    }
    this.#finish(status);
  }

  #maybeResolve(): void {
    if (this.#resultDone || this.#settled.size < this.#tallies.length) return;
    this.#resultDone = true;
    try {
      this.#resolveResult(this.#plan!.assemble(this.#tallies.map((_, i) => this.#outputs.get(i)!)));
    } catch (err) {
      this.#rejectResult(err as Error);
    }
    this.#endIfReady();
  }

  /**
   * Ends the run on the coordinator's final status. A job is done once every shard is decided and paid, which
   * can come before the agreeing outputs finished streaming here (the coordinator pays on agreeing claims): the
   * end then waits, at most outputGraceMs, for the transfers still running for unsettled shards.
   */
  #finish(status: JobStatus): void {
    if (this.#finished || this.#ending) return;
    if (status.state === 'done' && !this.#resultDone && this.#outputsInFlight()) {
      const timer = setTimeout(() => this.#finishNow(status), this.#options.outputGraceMs ?? OUTPUT_GRACE_MS);
      this.#ending = { status, timer };
      return;
    }
    this.#finishNow(status);
  }

  /** Whether a lease of a shard not settled yet is still transferring. */
  #outputsInFlight(): boolean {
    for (const { lease } of this.#leases.values()) if (!this.#settled.has(lease.shard)) return true;
    return false;
  }

  /** Finishes a done job that waited for outputs, once the result is here or nothing is in flight any more. */
  #endIfReady(): void {
    if (this.#ending && !this.#finished && (this.#resultDone || !this.#outputsInFlight())) this.#finishNow(this.#ending.status);
  }

  #finishNow(status: JobStatus): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cleanup();
    this.#resolveCost(this.#cost.final(status));
    const error = this.#resultDone ? undefined : endError(status, this.#count(), this.#cancelRequested);
    if (error) {
      this.#resultDone = true;
      this.#rejectResult(error);
    }
    this.#progress({ state: status.state, error });
    this.#ctx.balanceChanged();
  }

  /** The coordinator no longer knows the job: it ends on this client's own record. */
  #lost(): void {
    if (this.#finished || this.#id === undefined) return;
    this.#finished = true;
    this.#cleanup();
    this.#resolveCost(this.#cost.own());
    const error = this.#resultDone ? undefined : lostError(this.#id, this.#count());
    if (error) {
      this.#resultDone = true;
      this.#rejectResult(error);
    }
    this.#progress({ state: 'lost', error });
    this.#ctx.balanceChanged();
  }

  /** Ends the run with `err` (the submit failed, or the session closed): a submitted job's cost is the own record. */
  #fail(err: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cleanup();
    this.#rejectId(err);
    if (!this.#resultDone) this.#rejectResult(err);
    this.#resultDone = true;
    if (this.#id === undefined) this.#rejectCost(err);
    else this.#resolveCost(this.#cost.own());
  }

  #cleanup(): void {
    if (this.#ending) clearTimeout(this.#ending.timer);
    for (const { ctrl } of this.#leases.values()) ctrl.abort(new MeshError('cancelled', 'Cannot finish the lease as the job ended'));
    this.#leases.clear();
    this.#watch?.stop();
    if (this.#id !== undefined) this.#router.unregister(this.#id);
  }

  #count(): { done: number; total: number } {
    return { done: this.#settled.size, total: this.#tallies.length };
  }

  #progress(p: ProgressNote): void {
    this.dispatchEvent(new CustomEvent<JobProgress>('progress', { detail: progressDetail(this.#count(), p) }));
  }

  /** Ends the run because the session closed. */
  abandon(err: Error): void {
    this.#fail(err);
  }
}

