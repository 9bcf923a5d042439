/**
 * The contributor's side of a kernel kind: what the lease runner (../lease-runner.ts) asks of a kind to run one
 * of its shards. The runner does everything kind-independent (the exchange with the client, the input hash
 * check, the claim, the outputs blob, failure reports); a kind says whether it needs a model, and computes.
 */
import type { PushFrame } from '../../mesh/coordinator-client.ts';
import type { BlobStream } from '../../mesh/blob-stream.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { KernelKind, KernelOf } from '../../protocol/kernel.ts';
import type { TensorData, TensorSpec } from '../../protocol/tensor.ts';
import type { KernelTask } from '../../protocol/worker.ts';
import type { ModelCache } from '../../storage/model-cache.ts';
import type { ClassifiedFailure, ModelSource } from '../lease-failure.ts';
import type { BlockSink } from '../streamed-matmul.ts';

/** The `assign` push that created a lease. */
export type AssignFrame = Extract<PushFrame, { type: 'assign' }>;

/** The `assign` push of a lease of kind K. */
export type AssignOf<K extends KernelKind> = AssignFrame & { kernel: KernelOf<K> };

/** Options of a compute call: the time (ms since the epoch) after which its result is useless. */
export interface LeaseTaskOptions {
  deadline?: number | undefined;
}

/** The compute a lease runs on: ComputePool's task surface (declared here so the SDK needs no workers). */
export interface LeaseCompute {
  /** Whether the ONNX worker holds a session for the model already. */
  hasOnnxSession(modelHash: string): Promise<boolean>;
  /** Runs a task of any kind on the lane its kind's rules name; resolves with its outputs in order. */
  run(task: KernelTask, opts?: LeaseTaskOptions): Promise<TensorData[]>;
}

/** What a kind's task gets for one lease. */
export interface TaskContext<K extends KernelKind> {
  assign: AssignOf<K>;
  pool: LeaseCompute;
  cache: ModelCache;
}

/** A shard's inputs as the runner hands them to `compute`. */
export interface ShardInput {
  /** The inputs blob as it arrives: a kind that can start on a prefix reads it here. */
  readonly stream: BlobStream;
  /** The inputs' tensors: the shard's, or those pulled pipeline inputs name (their shapes are the upstream's). */
  readonly specs: readonly TensorSpec[];
  /** The whole inputs once they arrived and hashed to the shard's `inputHash` (rejects otherwise). */
  whole(): Promise<ArrayBuffer>;
  /**
   * The deadline a pool call carries, read when the call is made: the lease's expiry, but never less than a
   * floor from now (clocks differ between machines), so a hung worker cannot hold the lease past it.
   */
  deadline(): number;
  /**
   * Streams outputs while computing: the returned sink puts each block of output bytes on the wire at once, in
   * an outputs blob of `total` bytes announced without a hash (the client checks what arrives against `done`).
   * A kind that calls it must write exactly the bytes of its outputs, packed, in order.
   */
  output(total: number): BlockSink;
}

/** What a compute step gives back: the outputs, and the milliseconds the compute itself took (for pay and speed). */
export interface Computed {
  outputs: TensorData[];
  ms: number;
}

/** One lease of a kind, as the runner drives it. */
export interface LeaseTask {
  /**
   * Where the kind's model comes from, decided before `need` is answered: 'none' (the kind has no model),
   * 'session' or 'cache' (this peer holds it; a cached one is read and checked now) or 'peer' (the client sends it).
   */
  findModel(): Promise<ModelSource>;
  /** The model blob the client sent after `need` asked for it (its hash already computed): checks and keeps it. */
  takeModel(blob: { bytes: ArrayBuffer; sha256: string }): void;
  /** Runs the shard on the pool. */
  compute(input: ShardInput): Promise<Computed>;
  /** After the compute step failed here with `failure`: drops what caused it (a corrupt cached model), before it is reported. */
  fault(failure: ClassifiedFailure): Promise<void>;
}

/** Makes the task of one lease of kind K. */
export type TaskMaker<K extends KernelKind> = (ctx: TaskContext<K>) => LeaseTask;

/** The parts of a LeaseTask a kind without a model shares. */
export const NO_MODEL: Pick<LeaseTask, 'findModel' | 'takeModel' | 'fault'> = {
  findModel: () => Promise.resolve('none'),
  takeModel: () => {
    throw new MeshError('internal', 'Cannot take a model as this kernel kind has none');
  },
  fault: () => Promise.resolve(),
};

/** Runs `call` and times it: `ms` covers the call alone, not the waits before it. */
export async function timed(call: () => Promise<TensorData[]>): Promise<Computed> {
  const started = performance.now();
  const outputs = await call();
  return { outputs, ms: performance.now() - started };
}
