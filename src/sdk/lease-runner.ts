/**
 * The contributor's side of one lease: say whether the model is needed, take model and inputs (each checked
 * against the hash the job announced), run the shard on the local compute pool, claim the result with the
 * coordinator while streaming the outputs back, and send `done` once the claim is recorded. `abort()` (a revoke, or the contributor stopping)
 * ends the exchange with a `fail` frame so the client does not wait out the lease.
 */
import { sha256Hex } from '../core/hash.ts';
import type { Identity } from '../core/identity.ts';
import { packTensors, unpackTensors } from '../core/sharding.ts';
import type { ComputePool } from '../compute/index.ts';
import type { CoordinatorClient, PushFrame } from '../mesh/coordinator-client.ts';
import type { PeerLink } from '../mesh/peer-link.ts';
import { type ResultClaim, signedText } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import type { TensorData } from '../protocol/tensor.ts';
import type { ModelCache } from '../storage/model-cache.ts';
import { recordReceipt } from '../storage/receipt-log.ts';

/** The `assign` push that created a lease. */
export type AssignFrame = Extract<PushFrame, { type: 'assign' }>;

/** What a lease runner uses. */
export interface RunnerContext {
  pool: ComputePool;
  cache: ModelCache;
  coordinator: CoordinatorClient;
  identity: Identity;
}

/** Milliseconds granted past a lease's expiry for blobs still arriving. */
const GRACE_MS = 5_000;

/** Runs one assigned lease for the client on the other end of `link`. */
export class LeaseRunner {
  readonly assign: AssignFrame;
  readonly link: PeerLink;
  readonly #ctx: RunnerContext;
  readonly #ctrl = new AbortController();

  constructor(ctx: RunnerContext, assign: AssignFrame, link: PeerLink) {
    this.#ctx = ctx;
    this.assign = assign;
    this.link = link;
  }

  /** The lease id. */
  get leaseId(): string {
    return this.assign.lease.leaseId;
  }

  /** Stops the lease: pending reads fail, the client hears `fail` with this reason, no result is claimed. */
  abort(reason: string): void {
    if (this.#ctrl.signal.aborted) return;
    const err = new MeshError('cancelled', `Cannot finish lease ${this.leaseId}: ${reason}`);
    this.#ctrl.abort(err);
    this.link.sendFail(this.leaseId, err);
    this.link.endLease(this.leaseId, err);
  }

  /** Runs the exchange to the end; resolves with the run's milliseconds, rejects with what failed. */
  async run(): Promise<number> {
    const { lease, kernel, spec } = this.assign;
    const signal = this.#ctrl.signal;
    const inbox = this.link.lease(lease.leaseId);
    const waitMs = () => Math.max(lease.expiresAt - Date.now(), 1000) + GRACE_MS;
    try {
      let model: ArrayBuffer | undefined;
      let needModel = false;
      if (kernel.kind === 'onnx') {
        // Prefer bytes from the cache even when the worker holds a session: a fresh worker would need them.
        model = (await this.#ctx.cache.get(kernel.model.hash))?.bytes;
        needModel = model === undefined && !(await this.#ctx.pool.hasOnnxSession(kernel.model.hash));
      }
      signal.throwIfAborted();
      this.link.sendControl({ type: 'need', leaseId: lease.leaseId, model: needModel });
      if (needModel && kernel.kind === 'onnx') {
        const { bytes, sha256: hash } = await inbox.nextBlob('model', waitMs());
        if (hash !== kernel.model.hash) {
          throw new MeshError('hash-mismatch', `Cannot use the model for lease ${lease.leaseId} as it must hash to ${kernel.model.hash}: current hash is ${hash}`);
        }
        // The pool takes ownership of what it runs, so the cache gets its own copy.
        this.#ctx.cache.put(hash, bytes.slice(0), kernel.model.name).catch(() => {});
        model = bytes;
      }
      const { bytes: inputs, sha256: inputHash } = await inbox.nextBlob('inputs', waitMs());
      if (inputHash !== spec.inputHash) {
        throw new MeshError('hash-mismatch', `Cannot run lease ${lease.leaseId} as its inputs must hash to ${spec.inputHash}: current hash is ${inputHash}`);
      }
      const tensors = unpackTensors(inputs, spec.inputs);
      signal.throwIfAborted();
      const started = performance.now();
      const outputs = await this.#compute(tensors, model);
      const ms = performance.now() - started;
      signal.throwIfAborted();
      const packed = packTensors(outputs);
      const outputHash = await sha256Hex(packed);
      // The claim must reach the coordinator before the client's receipt can, so `done` waits for its answer;
      // the outputs stream meanwhile.
      const claim: ResultClaim = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, outputHash };
      const signature = await this.#ctx.identity.sign(signedText('result', claim));
      const claimed = this.#ctx.coordinator.request({ type: 'result', claim, signature }, { idempotent: true });
      claimed.catch(() => {});
      await this.link.sendBlob(lease.leaseId, 'outputs', packed, { signal, sha256: outputHash });
      await claimed;
      signal.throwIfAborted();
      this.link.sendControl({
        type: 'done',
        leaseId: lease.leaseId,
        outputHash,
        outputs: outputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims] })),
      });
      recordReceipt({ leaseId: lease.leaseId, jobId: lease.jobId, kind: 'claimed', claim, signature, at: Date.now() }).catch(() => {});
      return ms;
    } catch (err) {
      const error = signal.aborted ? (signal.reason as Error) : err;
      this.link.sendFail(lease.leaseId, error);
      throw error;
    } finally {
      this.link.endLease(lease.leaseId);
    }
  }

  #compute(inputs: TensorData[], model: ArrayBuffer | undefined): Promise<TensorData[]> {
    const { kernel, spec } = this.assign;
    if (kernel.kind === 'onnx') {
      return this.#ctx.pool.runOnnx({
        modelHash: kernel.model.hash,
        ...(model === undefined ? {} : { model }),
        inputs,
        outputNames: kernel.outputs,
      });
    }
    if (!spec.dispatch) {
      return Promise.reject(new MeshError('invalid-message', `Cannot run WGSL shard ${spec.index} as it has no dispatch size: current value is undefined`));
    }
    return this.#ctx.pool.runWgsl({
      source: kernel.source,
      entryPoint: kernel.entryPoint,
      bindings: kernel.bindings,
      inputs,
      outputs: spec.outputs,
      dispatch: [spec.dispatch[0], spec.dispatch[1], spec.dispatch[2]],
    });
  }
}
