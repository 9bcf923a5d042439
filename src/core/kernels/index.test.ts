import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../protocol/errors.ts';
import type { KernelKind } from '../../protocol/kernel.ts';
import type { Capabilities } from '../../protocol/capabilities.ts';
import { ableToRun, checkShard, KERNEL_KINDS, kernelIneligibility, KERNELS, kernelRules, perShard } from './index.ts';
import { ONNX_MEMORY_FACTOR } from './onnx.ts';

describe('kernel rules table', () => {
  it('kernelRules() refuses a kind no entry names, including inherited property names', () => {
    for (const kind of ['pipeline', '__proto__', 'toString', 'constructor']) {
      assert.throws(() => kernelRules(kind as KernelKind), (e: unknown) => e instanceof MeshError && e.code === 'invalid-message' && e.message.includes(JSON.stringify(kind)));
    }
  });

  it('every entry names its lane and what a task is', () => {
    for (const [kind, rules] of Object.entries(KERNELS)) {
      assert.ok(rules.lane === 'gpu' || rules.lane === 'onnx', kind);
      assert.ok(rules.what.length > 0, kind);
    }
    assert.equal(KERNELS.onnx.lane, 'onnx');
    assert.equal(KERNELS.matmul.lane, 'gpu');
  });

  it('perShard() is true only where a shard brings its own buffers', () => {
    assert.equal(perShard('wgsl'), true);
    assert.equal(perShard('onnx'), false);
    assert.equal(perShard('matmul'), false);
  });

  it('ableToRun() asks for an execution provider for onnx and an adapter for the GPU kinds; KERNEL_KINDS lists every kind', () => {
    assert.deepEqual([...KERNEL_KINDS].sort(), ['matmul', 'onnx', 'rows', 'wgsl']);
    const cpu: Capabilities = { cpu: { cores: 2, wasmSimd: true, wasmThreads: false, crossOriginIsolated: false }, ortEps: ['wasm'], gflops: { cpu: 1 } };
    const none: Capabilities = { ...cpu, ortEps: [] };
    const limits = {
      maxStorageBufferBindingSize: 1 << 27, maxBufferSize: 1 << 28, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupSizeZ: 64, maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 8,
    };
    const gpuOnly: Capabilities = { ...none, gpu: { vendor: 'v', architecture: 'a', description: 'd', features: [], limits } };
    assert.deepEqual(KERNEL_KINDS.map((k) => ableToRun(cpu, k)), KERNEL_KINDS.map((k) => k === 'onnx'));
    assert.deepEqual(KERNEL_KINDS.map((k) => ableToRun(none, k)), KERNEL_KINDS.map(() => false));
    assert.deepEqual(KERNEL_KINDS.map((k) => ableToRun(gpuOnly, k)), KERNEL_KINDS.map((k) => k !== 'onnx'));
  });

  it("the onnx rule refuses a model whose session would not fit the contributor's reported memory", () => {
    const caps: Capabilities = { cpu: { cores: 2, wasmSimd: true, wasmThreads: false, crossOriginIsolated: false }, ortEps: ['wasm'], gflops: { cpu: 1 }, memoryGiB: 1 };
    const spec = { index: 0, inputs: [], outputs: [], inputHash: 'a'.repeat(64), workUnits: 1 };
    const kernel = (bytes: number) => ({ kind: 'onnx' as const, model: { hash: 'b'.repeat(64), bytes }, outputs: ['y'] });
    assert.equal(kernelIneligibility(caps, kernel(2 ** 30 / ONNX_MEMORY_FACTOR), spec), null);
    assert.match(kernelIneligibility(caps, kernel(2 ** 30 / ONNX_MEMORY_FACTOR + 1), spec) ?? '', /model needs about \d+ bytes of memory, more than the contributor's 1 GiB/);
    const { memoryGiB: _, ...unknown } = caps;
    assert.equal(kernelIneligibility(unknown, kernel(2 ** 40), spec), null, 'unknown memory is not held against anyone');
  });

  it('checkShard() passes kinds without a check', () => {
    const spec = { index: 0, inputs: [{ name: 'x', dtype: 'float32' as const, dims: [1] }], outputs: [{ name: 'y', dtype: 'float32' as const, dims: [1] }], inputHash: 'a'.repeat(64), workUnits: 1 };
    assert.doesNotThrow(() => checkShard({ kind: 'matmul' }, spec));
  });
});
