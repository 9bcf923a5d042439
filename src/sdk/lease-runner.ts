/**
 * The contributor's side of one lease: say whether the model is needed, take model and inputs (each checked
 * against the hash the job announced), run the shard on the local compute pool, claim the result with the
 * coordinator while streaming the outputs back, and send `done` once the claim is recorded. `abort()` (a
 * revoke, or the contributor stopping) ends the exchange with a `fail` frame so the client does not wait out
 * the lease. What depends on the kernel's kind (whether it needs a model and where that comes from, how the
 * shard computes, whether its outputs stream) is the kind's lease task (kernels/<kind>.ts, through the table in
 * kernels/index.ts); this file is the exchange every kind shares.
 *
 * Healing: every pool call carries the lease's expiry as its deadline, so a hung worker cannot hold the lease
 * past it (the pool replaces the worker). When the compute step fails, the
 * failure is classified (lease-failure.ts) and reported to the coordinator with `fail` before the client hears
 * it, so the coordinator learns it as this peer's own local fault (retried elsewhere first, never counted as a
 * wrong result) rather than as the client's complaint.
 */
import { sha256Hex } from '../core/hash.ts';
import type { Identity } from '../core/identity.ts';
import type { CoordinatorClient } from '../mesh/coordinator-client.ts';
import type { BlobWriter, PeerLink } from '../mesh/peer-link.ts';
import { type LeaseFailure, type ResultClaim, signedText } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import type { TensorSpec } from '../protocol/tensor.ts';
import type { ModelCache } from '../storage/model-cache.ts';
import { recordReceipt } from '../storage/receipt-log.ts';
import { type AssignFrame, type LeaseCompute, type LeaseTask, leaseTask, type ShardInput } from './kernels/index.ts';
import { classifyComputeFailure, type ModelSource } from './lease-failure.ts';
import { packOwned } from './owned-tensors.ts';
import type { BlockSink } from './streamed-matmul.ts';
import { BlobStream } from '../mesh/blob-stream.ts';
import type { LeaseInbox } from '../mesh/lease-inbox.ts';
import type { StoredOutput } from '../storage/result-store.ts';
import type { ActivationStore } from './activation-store.ts';
import { pullOutputs } from './pipe-transfer.ts';

export type { AssignFrame, LeaseCompute, LeaseTaskOptions } from './kernels/index.ts';

/** The result cache as a lease runner uses it (result-keeper.ts). */
export interface LeaseResults {
  /** The checked stored output a cached lease names, if this contributor still keeps it. */
  lookup(assign: AssignFrame): Promise<StoredOutput | undefined>;
  /** A result this contributor is about to claim, kept until it is paid (or dropped). */
  claimed(assign: AssignFrame, outputHash: string, bytes: ArrayBuffer, outputs: readonly TensorSpec[]): void;
  /** The lease ended without a claim to be paid: its output is forgotten. */
  dropped(leaseId: string): void;
}

/** What a lease runner uses. */
export interface RunnerContext {
  pool: LeaseCompute;
  cache: ModelCache;
  coordinator: CoordinatorClient;
  identity: Identity;
  /** Verified outputs kept to answer repeated shards; absent: every lease is computed. */
  results?: LeaseResults;
  /** Pipeline stage leases: where kept outputs go, and links to the peers inputs are pulled from. */
  pipes?: { store: ActivationStore; link(peer: string): Promise<PeerLink> };
}

/** What a finished lease reports: its compute milliseconds, and whether it was answered from the result store. */
export interface LeaseRunResult {
  ms: number;
  fromCache: boolean;
}

/** Milliseconds granted past a lease's expiry for blobs still arriving. */
const GRACE_MS = 5_000;
/** Longest wait for the coordinator to take a `fail` report before the client hears of the failure anyway. */
const FAIL_REPORT_MS = 3_000;
/** Least time a compute task is given, whatever the lease's expiry says (clocks differ between machines). */
const MIN_TASK_MS = 10_000;

/** Runs one assigned lease for the client on the other end of `link`. */
export class LeaseRunner {
  readonly assign: AssignFrame;
  readonly link: PeerLink;
  readonly #ctx: RunnerContext;
  readonly #ctrl = new AbortController();
  readonly #task: LeaseTask;
  /** The inputs' tensors when they differ from the shard's (pulled pipeline inputs name their own shapes). */
  #inputSpecs: TensorSpec[] | undefined;

  constructor(ctx: RunnerContext, assign: AssignFrame, link: PeerLink) {
    this.#ctx = ctx;
    this.assign = assign;
    this.link = link;
    this.#task = leaseTask({ assign, pool: ctx.pool, cache: ctx.cache });
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

  /**
   * Runs the exchange to the end; resolves with the compute milliseconds (0 for an answer from the result store),
   * rejects with what failed.
   */
  async run(): Promise<LeaseRunResult> {
    const { lease, spec } = this.assign;
    const signal = this.#ctrl.signal;
    const inbox = this.link.lease(lease.leaseId);
    const waitMs = () => Math.max(lease.expiresAt - Date.now(), 1000) + GRACE_MS;
    let where: ModelSource = 'none';
    try {
      if (lease.cached !== undefined) {
        await this.#answerFromStore(lease.cached, inbox, waitMs());
        return { ms: 0, fromCache: true };
      }
      // A cached model is read (and checked) now; a session the worker holds needs no bytes at all.
      where = await this.#task.findModel();
      signal.throwIfAborted();
      this.link.sendControl({ type: 'need', leaseId: lease.leaseId, model: where === 'peer' });
      if (where === 'peer') this.#task.takeModel(await inbox.nextBlob('model', waitMs()));
      // A streamed kind (matmul) starts on its inputs' first bytes; nothing is claimed before they check.
      // A later pipeline stage pulls its inputs from the contributor that computed them (pipe-transfer.ts).
      const from = this.assign.pipe?.from;
      const stream = from ? await this.#pull(from) : await inbox.nextStream('inputs', waitMs());
      const checked = withTimeout(stream.done, waitMs(), `the inputs of lease ${lease.leaseId}`).then(({ sha256: inputHash }) => {
        if (inputHash !== spec.inputHash) {
          throw new MeshError('hash-mismatch', `Cannot run lease ${lease.leaseId} as its inputs must hash to ${spec.inputHash}: current hash is ${inputHash}`);
        }
      });
      checked.catch((err: Error) => stream.fail(err)); // a stalled or wrong blob stops the blocks waiting on it
      // Streamed outputs go on the wire as each block finishes, announced without their hash (the client
      // hashes what arrives and accepts it only if that equals `done.outputHash`).
      let writer: BlobWriter | undefined;
      let writeError: unknown;
      const output = (total: number): BlockSink => (bytes) => {
        try {
          writer ??= this.link.outputWriter(lease.leaseId, total, { signal });
        } catch (err) {
          writeError ??= err;
          return;
        }
        writer.write(bytes).catch(() => {}); // the same error rejects end()
      };
      const input: ShardInput = {
        stream,
        specs: this.#inputSpecs ?? spec.inputs,
        whole: () => checked.then(() => stream.done).then(({ bytes }) => bytes),
        // Past the lease's expiry the result is worthless: a task still running then means a hung worker. The
        // expiry is the coordinator's clock: a floor keeps a peer whose clock runs ahead from timing out every task.
        deadline: () => Math.max(lease.expiresAt, Date.now() + MIN_TASK_MS),
        output,
      };
      const computing = this.#task.compute(input)
        .catch(async (err: unknown) => {
          throw signal.aborted || stream.failed ? err : await this.#localFault(err, where);
        });
      computing.catch(() => {});
      await checked;
      signal.throwIfAborted();
      const { outputs, ms } = await computing;
      signal.throwIfAborted();
      if (writeError !== undefined) throw writeError;
      const packed = packOwned(outputs);
      const outputHash = await sha256Hex(packed);
      const specs = outputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims] }));
      const keep = this.assign.pipe?.keep === true;
      if (keep) {
        // An intermediate stage: the outputs stay here for the next stage (and the client, should it compare).
        const stored = this.#ctx.pipes?.store.put({ leaseId: lease.leaseId, jobId: lease.jobId, client: lease.client, outputHash, bytes: new Uint8Array(packed), specs });
        if (!stored) throw new LocalFault('out-of-memory', `Cannot keep the ${packed.byteLength} output bytes of lease ${lease.leaseId} for the next stage`, undefined);
      } else {
        // Held before the claim leaves: the payment that promotes it to the store may follow at once.
        this.#ctx.results?.claimed(this.assign, outputHash, packed, specs);
      }
      const send = writer ? () => writer!.end() : keep ? () => Promise.resolve() : () => this.link.sendBlob(lease.leaseId, 'outputs', packed, { signal, sha256: outputHash });
      try {
        await this.#deliver(outputHash, specs, send);
      } catch (err) {
        this.#ctx.results?.dropped(lease.leaseId);
        throw err;
      }
      return { ms, fromCache: false };
    } catch (err) {
      const error = signal.aborted ? (signal.reason as Error) : err;
      if (error instanceof LocalFault) await this.#reportFailure(error.reason, error.message);
      this.link.sendFail(lease.leaseId, error);
      throw error;
    } finally {
      this.link.endLease(lease.leaseId);
    }
  }

  /** The inputs of a later pipeline stage, pulled from their holder as one complete blob; their tensors are kept. */
  async #pull(from: NonNullable<NonNullable<AssignFrame['pipe']>['from']>): Promise<BlobStream> {
    const pipes = this.#ctx.pipes;
    if (!pipes) throw new MeshError('unsupported', `Cannot run lease ${this.leaseId} as this peer cannot pull pipeline inputs`);
    try {
      const link = await pipes.link(from.peer);
      const pulled = await pullOutputs(link, from, this.assign.spec.inputs);
      this.#inputSpecs = pulled.specs;
      const stream = new BlobStream(pulled.bytes.byteLength);
      stream.complete(Promise.resolve({ bytes: pulled.bytes, sha256: from.outputHash }));
      return stream;
    } catch (err) {
      if (this.#ctrl.signal.aborted) throw err;
      throw new LocalFault('source-lost', (err as Error).message, err);
    }
  }

  /**
   * Claims `outputHash` with the coordinator while `send` streams the outputs, then sends `done`. The claim must
   * reach the coordinator before the client's receipt can, so `done` waits for its answer; signing and the
   * claim's round trip run while the outputs stream.
   */
  async #deliver(outputHash: string, outputs: TensorSpec[], send: () => Promise<unknown>): Promise<void> {
    const { lease } = this.assign;
    const signal = this.#ctrl.signal;
    const claim: ResultClaim = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, outputHash };
    const claimed = this.#ctx.identity.sign(signedText('result', claim)).then(async (signature) => {
      await this.#ctx.coordinator.request({ type: 'result', claim, signature }, { idempotent: true });
      return signature;
    });
    claimed.catch(() => {});
    await send();
    const signature = await claimed;
    signal.throwIfAborted();
    this.link.sendControl({ type: 'done', leaseId: lease.leaseId, outputHash, outputs });
    recordReceipt({ leaseId: lease.leaseId, jobId: lease.jobId, kind: 'claimed', claim, signature, at: Date.now() }).catch(() => {});
  }

  /**
   * Answers a cached lease from the result store without running the kernel: the stored output is read and
   * checked first (result-store.ts), the client's inputs must still arrive and hash to the shard's (only the
   * client that presents them gets the output), then the output is claimed and sent. A contributor that no
   * longer keeps it declines with 'not-cached' (a LocalFault: reported to the coordinator, which forgets it as
   * a holder and places the shard again, unpaid).
   */
  async #answerFromStore(cached: string, inbox: LeaseInbox, waitMs: number): Promise<void> {
    const { lease, spec } = this.assign;
    const signal = this.#ctrl.signal;
    const stored = await this.#ctx.results?.lookup(this.assign).catch(() => undefined);
    if (!stored) {
      throw new LocalFault('not-cached', `Cannot answer lease ${lease.leaseId} from the result store as it no longer keeps output ${cached}`, undefined);
    }
    signal.throwIfAborted();
    this.link.sendControl({ type: 'need', leaseId: lease.leaseId, model: false });
    const { sha256: inputHash } = await inbox.nextBlob('inputs', waitMs);
    if (inputHash !== spec.inputHash) {
      throw new MeshError('hash-mismatch', `Cannot answer lease ${lease.leaseId} as its inputs must hash to ${spec.inputHash}: current hash is ${inputHash}`);
    }
    signal.throwIfAborted();
    await this.#deliver(stored.outputHash, stored.outputs, () => this.link.sendBlob(lease.leaseId, 'outputs', stored.bytes, { signal, sha256: stored.outputHash }));
  }

  /**
   * Turns a failure of the compute step into a LocalFault with its class, or passes it on when it is none of
   * this peer's to report. The kind drops what caused it first (model bytes from the cache that the worker found
   * wrong), so the next lease asks the client for them.
   */
  async #localFault(err: unknown, where: ModelSource): Promise<unknown> {
    const failure = classifyComputeFailure(err, where);
    if (!failure) return err;
    await this.#task.fault(failure);
    return new LocalFault(failure.reason, failure.message, err);
  }

  /** Tells the coordinator this lease failed here (`fail`); waits at most FAIL_REPORT_MS for its answer. */
  async #reportFailure(reason: LeaseFailure, message: string): Promise<void> {
    const { jobId, shard, leaseId } = this.assign.lease;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, FAIL_REPORT_MS)));
    const sent = this.#ctx.coordinator.request({ type: 'fail', jobId, shard, leaseId, reason, message }, { timeoutMs: FAIL_REPORT_MS })
      .then(() => {}, () => {}); // the lease expired or was released meanwhile: the client's word suffices
    await Promise.race([sent, late]);
    clearTimeout(timer);
  }
}

/** `p`, or a 'transfer-failed' MeshError naming `what` once `ms` pass first. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MeshError('transfer-failed', `Cannot run the lease as ${what} did not arrive: waited ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A failure of the compute step, classified: its `code` is the LeaseFailure reported to the coordinator. */
export class LocalFault extends MeshError {
  readonly reason: LeaseFailure;
  constructor(reason: LeaseFailure, message: string, cause: unknown) {
    super(reason, message, { cause });
    this.reason = reason;
  }
}
