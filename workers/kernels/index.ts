/**
 * The compute worker's runs, one entry per kernel kind (the compiler names a missing one), as the
 * coordinator's frame handlers are one table (coordinator/mesh/handlers.ts): `ComputeWorkerApi.run` takes a
 * task tagged by kind and this table picks its run.
 *
 * Adding a kernel kind: its wire schema and worker task (src/protocol), one file per side
 * (src/core/kernels/<kind>.ts, src/sdk/kernels/<kind>.ts, workers/kernels/<kind>.ts) and its entry in each
 * side's table: this one, src/core/kernels/index.ts and src/sdk/kernels/index.ts. Nothing else changes.
 */
import { MeshError } from '../../src/protocol/errors.ts';
import type { KernelKind } from '../../src/protocol/kernel.ts';
import type { TensorData } from '../../src/protocol/tensor.ts';
import type { KernelTask } from '../../src/protocol/worker.ts';
import { runMatmulKernel } from './matmul.ts';
import { runOnnxKernel } from './onnx.ts';
import { runRows } from './rows.ts';
import type { KernelRun, WorkerEnv } from './types.ts';
import { runWgslKernel } from './wgsl.ts';
import elementwise from '../../shaders/elementwise.wgsl?raw';
import layernorm from '../../shaders/layernorm.wgsl?raw';
import reduce from '../../shaders/reduce.wgsl?raw';
import softmax from '../../shaders/softmax.wgsl?raw';

export type { KernelRun, WorkerEnv } from './types.ts';

const RUNS: { readonly [K in KernelKind]: KernelRun<K> } = {
  onnx: runOnnxKernel,
  wgsl: runWgslKernel,
  matmul: runMatmulKernel,
  // The bundled WGSL goes in here, so rows.ts itself loads under Deno (its tests read the files).
  rows: (task) => runRows(task, { reduce, softmax, layernorm, elementwise }),
};

/** Runs `task` with its kind's run; rejects with MeshError 'unsupported' for a kind this worker does not know. */
export function runKernel(task: KernelTask, env: WorkerEnv): Promise<TensorData[]> {
  const kind = (task as { kind?: unknown } | null)?.kind;
  const run = typeof kind === 'string' && Object.hasOwn(RUNS, kind) ? (RUNS[kind as KernelKind] as KernelRun<KernelKind>) : undefined;
  if (!run) return Promise.reject(new MeshError('unsupported', `Cannot run a task of kind ${JSON.stringify(kind)} as this worker has no run for it`));
  return run(task, env);
}
