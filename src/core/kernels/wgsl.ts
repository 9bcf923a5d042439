/** Client-written WGSL kernels: one dispatch per shard on the GPU worker; every buffer must fit the adapter. */
import { buffersMisfit, gpuLimits, hasGpu } from './_gpu.ts';
import type { KernelRules } from './types.ts';

/** The rules of the `wgsl` kind. */
export const wgslRules: KernelRules<'wgsl'> = {
  lane: 'gpu',
  what: 'a WGSL dispatch',
  // Each shard brings its own buffers and dispatch size, so each must fit the adapter.
  perShard: true,
  able: hasGpu,
  ineligibility(caps, kernel, spec) {
    const limits = gpuLimits(caps);
    if (typeof limits === 'string') return limits;
    const storage = kernel.bindings.filter((b) => b.role !== 'uniform').length;
    const misfit = buffersMisfit(limits, storage, spec);
    if (misfit !== null) return misfit;
    if (spec.dispatch?.some((d) => d > limits.maxComputeWorkgroupsPerDimension)) {
      return `dispatch ${spec.dispatch} exceeds maxComputeWorkgroupsPerDimension ${limits.maxComputeWorkgroupsPerDimension}`;
    }
    return null;
  },
};
