/** The shape of a kind's run in the compute worker (one file per kind, listed in index.ts). */
import type { KernelKind } from '../../src/protocol/kernel.ts';
import type { TensorData } from '../../src/protocol/tensor.ts';
import type { KernelTaskOf } from '../../src/protocol/worker.ts';
import type { OnnxSessions } from '../onnx/sessions.ts';

/** What a run gets besides its task: the worker's ONNX sessions (GPU kinds use the worker's shared device). */
export interface WorkerEnv {
  readonly sessions: OnnxSessions;
}

/** Runs one task of kind K in this worker; resolves with its outputs in order (buffers it owns, transferable). */
export type KernelRun<K extends KernelKind> = (task: KernelTaskOf<K>, env: WorkerEnv) => Promise<TensorData[]>;
