/** Requirements the GPU kinds share: an adapter, and shard buffers that fit its bindings. Folder-private. */
import type { Capabilities, GpuLimits } from '../../protocol/capabilities.ts';
import type { ShardSpec } from '../../protocol/kernel.ts';
import { tensorBytes } from '../../protocol/tensor.ts';

/** Whether a contributor has a WebGPU adapter at all. */
export function hasGpu(caps: Capabilities): boolean {
  return caps.gpu !== undefined;
}

/** The adapter's limits, or why there is none. */
export function gpuLimits(caps: Capabilities): GpuLimits | string {
  return caps.gpu ? caps.gpu.limits : 'no WebGPU adapter';
}

/** Why a shard's storage buffers (`storage` of them, every input and output) do not fit `limits`, or null. */
export function buffersMisfit(limits: GpuLimits, storage: number, spec: ShardSpec): string | null {
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    return `${storage} storage buffers exceed maxStorageBuffersPerShaderStage ${limits.maxStorageBuffersPerShaderStage}`;
  }
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const t of [...spec.inputs, ...spec.outputs]) {
    const bytes = tensorBytes(t);
    if (bytes > maxBytes) return `buffer '${t.name}' of ${bytes} bytes exceeds the adapter's ${maxBytes}`;
  }
  return null;
}
