/** The built-in f32 matmul: any contributor with a GPU, since the worker splits a tile to fit its limits. */
import { gpuLimits, hasGpu } from './_gpu.ts';
import type { KernelRules } from './types.ts';

/** The rules of the `matmul` kind. */
export const matmulRules: KernelRules<'matmul'> = {
  lane: 'gpu',
  what: 'a matmul',
  perShard: false,
  able: hasGpu,
  ineligibility(caps) {
    const limits = gpuLimits(caps);
    // The built-in matmul splits itself to fit the contributor's limits (workers/gpu/matmul-runner.ts).
    return typeof limits === 'string' ? limits : null;
  },
};
