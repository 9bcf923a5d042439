/**
 * The SDK's side of each kernel kind, one file per kind: `plan<Kind>` (a client call made into a job: kernel,
 * shards, output check, assembly), exported for the client, and the contributor's task (what running one lease
 * of the kind takes), listed in TASKS: one entry per kind, and the compiler names a missing one, as the
 * coordinator's frame handlers are one table (coordinator/mesh/handlers.ts). The lease runner reaches a kind
 * only through `leaseTask`.
 *
 * Adding a kernel kind: its wire schema and worker task (src/protocol), one file per side
 * (src/core/kernels/<kind>.ts, src/sdk/kernels/<kind>.ts, workers/kernels/<kind>.ts) and its entry in each
 * side's table: this one, src/core/kernels/index.ts and workers/kernels/index.ts; plus the client's call
 * for it (client.ts, and its options in types.ts). Nothing else changes.
 */
import { MeshError } from '../../protocol/errors.ts';
import type { KernelKind } from '../../protocol/kernel.ts';
import { matmulTask } from './matmul.ts';
import { onnxTask } from './onnx.ts';
import { rowsTask } from './rows.ts';
import type { LeaseTask, TaskContext, TaskMaker } from './task.ts';
import { wgslTask } from './wgsl.ts';

export { DEFAULT_ONNX_SHARDS, planOnnx, type PlanOnnxOptions } from './onnx.ts';
export { planWgsl } from './wgsl.ts';
export { DEFAULT_MATMUL_TILE, packMatmulTile, planMatmul } from './matmul.ts';
export { planRows, ROWS_MAX_SHARD_BYTES, ROWS_SHARDS } from './rows.ts';
export type { AssignFrame, LeaseCompute, LeaseTask, LeaseTaskOptions, ShardInput, TaskContext } from './task.ts';

const TASKS: { readonly [K in KernelKind]: TaskMaker<K> } = {
  onnx: onnxTask,
  wgsl: wgslTask,
  matmul: matmulTask,
  rows: rowsTask,
};

/**
 * The task of one lease, by its kernel's kind. A kind this SDK does not know (a newer or hostile peer's) gets a
 * task that fails with MeshError 'unsupported' when run, so the runner tells the client as for any failure.
 */
export function leaseTask(ctx: TaskContext<KernelKind>): LeaseTask {
  const kind = ctx.assign.kernel.kind;
  const make = Object.hasOwn(TASKS, kind) ? (TASKS[kind] as TaskMaker<KernelKind>) : undefined;
  if (make) return make(ctx);
  const err = new MeshError('unsupported', `Cannot run a lease of kernel kind ${JSON.stringify(kind)} as this peer has no task for it`);
  return {
    findModel: () => Promise.reject(err),
    takeModel: () => {
      throw err;
    },
    compute: () => Promise.reject(err),
    fault: () => Promise.resolve(),
  };
}
