/** WGSL tasks: one compute pass on this worker's device (workers/gpu/runner.ts). */
import { runWgsl } from '../gpu/runner.ts';
import type { KernelRun } from './types.ts';

/** Runs a WGSL task. */
export const runWgslKernel: KernelRun<'wgsl'> = (task) => runWgsl(task);
