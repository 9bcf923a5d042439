/**
 * The compute worker's RPC surface (exposed with comlink). Plain data in and out; ArrayBuffers are
 * transferred. Errors thrown inside keep `name`, `code` and `message` (see errors.ts).
 */
import type { GpuLimits } from './capabilities.ts';
import type { KernelKind, RowOp } from './kernel.ts';
import type { TensorData, TensorSpec } from './tensor.ts';

/** A WGSL dispatch: one compute pass over the given buffers. */
export interface WgslTask {
  source: string;
  entryPoint: string;
  /** Bindings of group 0 in order of `binding`. */
  bindings: { binding: number; role: 'input' | 'uniform' | 'output' }[];
  /** One tensor per input/uniform binding, in binding order. */
  inputs: TensorData[];
  /** One spec per output binding, in binding order. */
  outputs: TensorSpec[];
  dispatch: [number, number, number];
}

/** C = A x B with the worker's tuned matmul kernel: `a` f32 [m, k], `b` f32 [k, n]; returns `c` f32 [m, n]. */
export interface MatmulTask {
  a: TensorData;
  b: TensorData;
}

/**
 * A row-kernel op over x [rows, cols] f32 (the first input): `inputs` are x, then b (x's shape) for 'add' and
 * 'mul', or gamma and beta ([cols] each) for 'layernorm'. `eps` is layernorm's, `alpha` and `beta` affine's.
 * Returns `y`: [rows] for 'sum' and 'max', else [rows, cols].
 */
export interface RowsTask {
  op: RowOp;
  eps?: number;
  alpha?: number;
  beta?: number;
  inputs: TensorData[];
}

/** An ONNX inference. `model` may be omitted when the worker already holds a session for `modelHash`. */
export interface OnnxTask {
  modelHash: string;
  model?: ArrayBuffer;
  inputs: TensorData[];
  outputNames: string[];
  /**
   * Execution provider. 'auto' (the default when absent): the worker measures the model on each EP it has on
   * the first task's inputs and keeps the faster one whose outputs agree with wasm, per model, adapter and
   * thread count (cached in IndexedDB). 'wasm' / 'webgpu' force one; webgpu falls back to wasm without an adapter.
   */
  ep?: 'auto' | 'wasm' | 'webgpu';
}

/**
 * The task a compute worker runs for each kernel kind: one entry per kind (the compiler names a missing one),
 * the table `ComputeWorkerApi.run` and the pool dispatch on.
 */
export interface KernelTasks {
  onnx: OnnxTask;
  wgsl: WgslTask;
  matmul: MatmulTask;
  rows: RowsTask;
}

/** The task of one kind, tagged with it. */
export type KernelTaskOf<K extends KernelKind> = { kind: K } & KernelTasks[K];

/** A task of any kind, tagged by `kind`. */
export type KernelTask = { [K in KernelKind]: KernelTaskOf<K> }[KernelKind];

/** What a worker can measure about its context. */
export interface WorkerProbe {
  gpu?: {
    vendor: string;
    architecture: string;
    description: string;
    features: string[];
    limits: GpuLimits;
    gflops: number;
    /** The matmul tile configuration this adapter runs (see shaders/matmul.ts) and how it was chosen. */
    matmul: { config: string; tunedAt: number; cached: boolean; trials: number };
  };
  wasmSimd: boolean;
  wasmThreads: boolean;
  crossOriginIsolated: boolean;
  cpuGflops: number;
  ortEps: ('wasm' | 'webgpu')[];
}

/** The API a compute worker exposes. */
export interface ComputeWorkerApi {
  probe(): Promise<WorkerProbe>;
  /**
   * Runs one task of any kernel kind (workers/kernels/index.ts dispatches on `kind`); returns its outputs in
   * order (a matmul's one tensor `c`). Input buffers and model bytes arrive transferred; outputs go back so.
   */
  run(task: KernelTask): Promise<TensorData[]>;
  /**
   * Times one more matmul tuning candidate when the probe's tuning left some untimed; `complete` once all
   * were timed. The configuration in use may change between calls.
   */
  refineTuning(): Promise<{ complete: boolean; config: string; gflops: number; trials: number }>;
  hasOnnxSession(modelHash: string): Promise<boolean>;
  /**
   * Sets ORT's wasm thread count (effective until the ORT runtime starts) and, optionally, the URL of the
   * dist root whose `ort/` folder holds the ORT runtime files (default: the worker's origin root).
   */
  configure(opts: { threads: number; assetBase?: string }): Promise<void>;
  /**
   * Takes the Web Lock `name` and holds it for the worker's whole life; resolves true once it is held (false
   * without Web Locks). The page queues for the same lock to learn when the worker is gone.
   */
  holdLock(name: string): Promise<boolean>;
  /**
   * A small check that this worker computes correctly (after a fault, before its contributor takes work again):
   * `gpu`: a WGSL dispatch on this worker's device, checked against the CPU; `onnx`: a tiny model through ORT's
   * wasm runtime, checked likewise. Rejects with the failure (MeshError 'gpu-unavailable' when `gpu` is asked
   * for and no adapter exists).
   */
  selfTest(opts: { gpu?: boolean; onnx?: boolean }): Promise<{ ms: number }>;
}
