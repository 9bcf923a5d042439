/** Test data: capabilities of typical contributors and jobs built like the SDK builds them. */
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import type { JobSpec } from '../../src/protocol/coordinator.ts';
import type { ShardSpec } from '../../src/protocol/kernel.ts';

/** A CPU-only contributor with the WASM execution provider. */
export function cpuCaps(gflops = 10): Capabilities {
  return { cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: ['wasm'], gflops: { cpu: gflops } };
}

/** A contributor with a WebGPU adapter whose buffers are limited to `maxBuffer` bytes. */
export function gpuCaps(maxBuffer = 1 << 28, gflops = 100): Capabilities {
  return {
    ...cpuCaps(),
    ortEps: ['wasm', 'webgpu'],
    gpu: {
      vendor: 'test',
      architecture: 'test',
      description: 'test adapter',
      features: [],
      limits: {
        maxStorageBufferBindingSize: maxBuffer,
        maxBufferSize: maxBuffer,
        maxComputeWorkgroupStorageSize: 32768,
        maxComputeInvocationsPerWorkgroup: 256,
        maxComputeWorkgroupSizeX: 256,
        maxComputeWorkgroupSizeY: 256,
        maxComputeWorkgroupSizeZ: 64,
        maxComputeWorkgroupsPerDimension: 65535,
        maxStorageBuffersPerShaderStage: 8,
      },
    },
    gflops: { cpu: 10, gpu: gflops },
  };
}

/** A fake but well-formed SHA-256 hex digest derived from a label. */
export function hashOf(label: string): string {
  let h = 0;
  for (const ch of label) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(8);
}

/** An ONNX job of `shards` shards of `items` items each (1000 work units per item). */
export function onnxJob(opts: { shards?: number; items?: number; bid?: number; verifyFraction?: number; deadlineMs?: number; nonce?: string } = {}): JobSpec {
  const { shards = 3, items = 2, bid = 2, verifyFraction = 0, deadlineMs = 60_000 } = opts;
  const specs: ShardSpec[] = Array.from({ length: shards }, (_, index) => ({
    index,
    inputs: [{ name: 'x', dtype: 'float32', dims: [items, 3, 8, 8] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: [items, 1, 8, 8] }],
    inputHash: hashOf(`input-${index}`),
    workUnits: items * 1000,
  }));
  return {
    kernel: { kind: 'onnx', model: { hash: hashOf('model'), bytes: 4096, url: '/models/test.onnx' }, outputs: ['y'] },
    shards: specs,
    bid,
    verifyFraction,
    tolerance: { abs: 1e-4, rel: 1e-4 },
    deadlineMs,
    nonce: opts.nonce ?? crypto.randomUUID(),
  };
}

/** A WGSL job of `shards` shards, each with an input and an output of `elements` f32 values. */
export function wgslJob(opts: { shards?: number; elements?: number; bid?: number; nonce?: string } = {}): JobSpec {
  const { shards = 2, elements = 1024, bid = 2 } = opts;
  const specs: ShardSpec[] = Array.from({ length: shards }, (_, index) => ({
    index,
    inputs: [{ name: 'a', dtype: 'float32', dims: [elements] }],
    outputs: [{ name: 'b', dtype: 'float32', dims: [elements] }],
    inputHash: hashOf(`wgsl-input-${index}`),
    workUnits: 10,
    dispatch: [Math.ceil(elements / 64), 1, 1],
  }));
  return {
    kernel: {
      kind: 'wgsl',
      source: '@group(0) @binding(0) var<storage, read> a: array<f32>;\n@group(0) @binding(1) var<storage, read_write> b: array<f32>;\n' +
        '@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) { b[id.x] = a[id.x] * 2.0; }',
      entryPoint: 'main',
      bindings: [{ binding: 0, role: 'input' }, { binding: 1, role: 'output' }],
    },
    shards: specs,
    bid,
    verifyFraction: 0,
    tolerance: { abs: 0, rel: 0 },
    deadlineMs: 60_000,
    nonce: opts.nonce ?? crypto.randomUUID(),
  };
}
