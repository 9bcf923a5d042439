/**
 * A simulated client. Honest ones behave like the SDK (src/sdk/job-run.ts): a shard unverified in their view
 * (no lease of it said `verified` or `replica`) is paid by receipt on the first output; a verified shard waits
 * for the coordinator's verdict (agreement pays its runs); a waived shard pays its first output; a run whose
 * outputs never arrive is rejected as 'transfer-failed'. Freeloaders never send a receipt: per job they either
 * cancel once they hold half the outputs, or complain ('transfer-failed') about every run they received.
 */
import type { ContributorLease, JobSpec, ServerFrame } from '../../src/protocol/coordinator.ts';
import { FEE_RATE, settlementFor } from '../../src/core/cost.ts';
import { jobIdFor } from '../../coordinator/market/admission.ts';
import type { ClientRole, Freeload } from './behaviours.ts';
import { digest, honestHash } from './hashes.ts';
import { SIGNATURE, type OutputSink, type World } from './world.ts';

/** Micro-credits per work unit clients bid (contributors ask 1). */
export const BID = 2;
/** Work units of one shard (one ONNX batch item). */
export const WORK_UNITS = 1000;
/** Job deadline: far beyond a job's run time, so no job expires unless something is stuck. */
const DEADLINE_MS = 120_000;

interface ShardView {
  verified: boolean;
  paid: boolean;
  done: boolean;
  /** Outputs received, by lease id. */
  outputs: Map<string, { lease: ContributorLease; hash: string }>;
}

interface JobView {
  spec: JobSpec;
  strategy: 'honest' | Freeload;
  shards: ShardView[];
  /** Shards whose correct output arrived. */
  received: Set<number>;
  ended: boolean;
  cancelled: boolean;
  end: Promise<void>;
  resolve: () => void;
}

/** A client identity in the simulation. */
export class SimClient implements OutputSink {
  /** Micro-credits the work it received is worth: one run at its price (payment + fee) per shard with a correct output. */
  valueReceived = 0;
  readonly #jobs = new Map<string, JobView>();
  #nonce = 0;

  constructor(
    readonly id: string,
    readonly network: string,
    readonly role: ClientRole,
    readonly world: World,
  ) {}

  /** Submits jobs of up to `perJob` shards, `concurrency` at a time, until `shards` were submitted and all ended. */
  async run(shards: number, perJob: number, concurrency: number): Promise<void> {
    const running = new Set<Promise<void>>();
    let left = shards;
    while (left > 0) {
      while (running.size >= concurrency) await Promise.race(running);
      const n = Math.min(perJob, left);
      const view = await this.#submit(n);
      if (!view) {
        await new Promise((r) => setTimeout(r, 20)); // refused (caps): try again shortly
        continue;
      }
      left -= n;
      const p: Promise<void> = view.end.then(() => void running.delete(p));
      running.add(p);
    }
    await Promise.all(running);
  }

  /** Handles a push from the coordinator. */
  onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'assigned': {
        const v = this.#shard(frame.lease.jobId, frame.lease.shard);
        if (v && (frame.lease.verified || frame.lease.replica)) v.verified = true;
        return;
      }
      case 'released':
        this.#shard(frame.jobId, frame.shard)?.outputs.delete(frame.leaseId);
        return;
      case 'verdict': {
        const job = this.#jobs.get(frame.jobId);
        const v = job?.shards[frame.shard];
        if (!job || !v) return;
        if (frame.outputHash !== undefined) {
          v.done = true;
          return;
        }
        // Waived: no verifier exists, the first output will do (the SDK's ShardTally.waive).
        v.verified = false;
        const first = v.outputs.values().next().value;
        if (first && job.strategy === 'honest' && !v.paid) this.#pay(v, first.lease, first.hash);
        return;
      }
      case 'job':
        if (frame.status.state !== 'running') {
          const job = this.#jobs.get(frame.status.jobId);
          if (job && !job.ended) {
            job.ended = true;
            job.resolve();
          }
        }
        return;
      default:
        return;
    }
  }

  /** Outputs of a run arrived over the peer link. */
  onOutput(lease: ContributorLease, outputHash: string): void {
    const job = this.#jobs.get(lease.jobId);
    const v = job?.shards[lease.shard];
    if (!job || !v) return;
    const spec = job.spec.shards[lease.shard]!;
    if (outputHash === honestHash(spec.inputHash) && !job.received.has(lease.shard)) {
      job.received.add(lease.shard);
      const { amount, fee } = settlementFor(spec.workUnits, lease.price, FEE_RATE);
      this.valueReceived += amount + fee;
    }
    if (job.ended) return;
    v.outputs.set(lease.leaseId, { lease, hash: outputHash });
    switch (job.strategy) {
      case 'honest':
        if (!v.verified && !v.paid && !v.done) this.#pay(v, lease, outputHash);
        return;
      case 'complain':
        this.#complain(lease);
        return;
      case 'cancel':
        if (!job.cancelled && job.received.size * 2 >= job.spec.shards.length) {
          job.cancelled = true;
          this.world.market.cancel(this.id, lease.jobId).catch(() => this.world.counts.refused++);
        }
        return;
    }
  }

  /** The outputs of a run never came (the SDK rejects such a lease as 'transfer-failed'). */
  onTransferFailed(lease: ContributorLease): void {
    const job = this.#jobs.get(lease.jobId);
    if (job && !job.ended) this.#complain(lease);
  }

  async #submit(shards: number): Promise<JobView | undefined> {
    const nonce = `${this.id}-${++this.#nonce}`;
    const spec = jobSpec(nonce, shards);
    const jobId = await jobIdFor(this.id, spec);
    let resolve!: () => void;
    const end = new Promise<void>((r) => (resolve = r));
    const strategy = this.role === 'honest' ? 'honest' : this.#nonce % 2 === 0 ? 'complain' : 'cancel';
    const view: JobView = {
      spec,
      strategy,
      shards: spec.shards.map(() => ({ verified: false, paid: false, done: false, outputs: new Map() })),
      received: new Set(),
      ended: false,
      cancelled: false,
      end,
      resolve,
    };
    // Known before submit returns: its first assignments may be pushed before this call resumes.
    this.#jobs.set(jobId, view);
    try {
      await this.world.market.submit(this.id, spec, JSON.stringify(spec).length);
      return view;
    } catch {
      this.#jobs.delete(jobId);
      return undefined;
    }
  }

  #shard(jobId: string, shard: number): ShardView | undefined {
    return this.#jobs.get(jobId)?.shards[shard];
  }

  /** Sends a receipt at once, as the SDK does (the market writes one job's payments one at a time). */
  #pay(v: ShardView, lease: ContributorLease, outputHash: string): void {
    v.paid = true;
    const receipt = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, contributor: lease.contributor, outputHash, workUnits: WORK_UNITS };
    this.world.market.receipt(this.id, receipt, SIGNATURE).catch(() => {
      v.paid = false;
      this.world.counts.refused++;
    });
  }

  #complain(lease: ContributorLease): void {
    try {
      this.world.market.reject(this.id, { type: 'reject', rid: 0, jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, reason: 'transfer-failed' });
    } catch {
      this.world.counts.refused++;
    }
  }
}

/** A job of `shards` one-item ONNX shards, each with its own input hash. */
export function jobSpec(nonce: string, shards: number): JobSpec {
  return {
    kernel: { kind: 'onnx', model: { hash: digest('model'), bytes: 4096 }, outputs: ['y'] },
    shards: Array.from({ length: shards }, (_, index) => ({
      index,
      inputs: [{ name: 'x', dtype: 'float32' as const, dims: [1, 3, 8, 8] }],
      outputs: [{ name: 'y', dtype: 'float32' as const, dims: [1, 1, 8, 8] }],
      inputHash: digest(`input:${nonce}:${index}`),
      workUnits: WORK_UNITS,
    })),
    bid: BID,
    verifyFraction: 0,
    tolerance: { abs: 1e-4, rel: 1e-4 },
    deadlineMs: DEADLINE_MS,
    nonce,
  };
}
