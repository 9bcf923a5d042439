/** Built-in matmul tasks: the adapter's tuned kernel, split to fit its limits (workers/gpu/matmul-runner.ts). */
import { runMatmul } from '../gpu/matmul-runner.ts';
import type { KernelRun } from './types.ts';

/** Runs a matmul task; its one output is `c`. */
export const runMatmulKernel: KernelRun<'matmul'> = async (task) => [await runMatmul(task)];
