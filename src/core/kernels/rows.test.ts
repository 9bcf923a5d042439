import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Capabilities } from '../../protocol/capabilities.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { RowsKernel, ShardSpec } from '../../protocol/kernel.ts';
import { checkShard, kernelIneligibility, perShard } from './index.ts';
import { rowsLayout, rowsOutput, workUnitsForRows } from './rows.ts';

const f32 = (name: string, dims: number[]) => ({ name, dtype: 'float32' as const, dims });
const invalid = (re: RegExp) => (e: unknown) => e instanceof MeshError && e.code === 'invalid-message' && re.test(e.message);

function shard(kernel: RowsKernel, inputs: ShardSpec['inputs'], over: Partial<ShardSpec> = {}): ShardSpec {
  const { rows, cols } = rowsLayout(kernel.op, inputs);
  return { index: 0, inputs, outputs: [rowsOutput(kernel.op, rows, cols)], inputHash: 'a'.repeat(64), workUnits: workUnitsForRows(kernel.op, rows, cols), ...over };
}

function caps(maxBinding?: number): Capabilities {
  const c: Capabilities = { cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: ['wasm'], gflops: { cpu: 1 } };
  if (maxBinding !== undefined) {
    c.gpu = {
      vendor: 'v', architecture: 'a', description: 'd', features: [],
      limits: {
        maxStorageBufferBindingSize: maxBinding, maxBufferSize: maxBinding, maxComputeWorkgroupStorageSize: 16384, maxComputeInvocationsPerWorkgroup: 256,
        maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupSizeZ: 64, maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 8,
      },
    };
  }
  return c;
}

describe('rows kind rules', () => {
  it('rowsLayout() takes x, then b of its shape or gamma and beta of [cols], per op', () => {
    assert.deepEqual(rowsLayout('softmax', [f32('x', [3, 5])]), { rows: 3, cols: 5 });
    assert.deepEqual(rowsLayout('add', [f32('x', [3, 5]), f32('b', [3, 5])]), { rows: 3, cols: 5 });
    assert.deepEqual(rowsLayout('layernorm', [f32('x', [3, 5]), f32('gamma', [5]), f32('beta', [5])]), { rows: 3, cols: 5 });
  });

  it('rowsLayout() refuses missing, extra, misnamed, misshapen and non-f32 inputs with invalid-message', () => {
    assert.throws(() => rowsLayout('add', [f32('x', [3, 5])]), invalid(/takes inputs \[x,b\]/));
    assert.throws(() => rowsLayout('sum', [f32('x', [3, 5]), f32('b', [3, 5])]), invalid(/current inputs are \[x,b\]/));
    assert.throws(() => rowsLayout('mul', [f32('x', [3, 5]), f32('b', [5, 3])]), invalid(/'b' must have dims \[3,5\]/));
    assert.throws(() => rowsLayout('layernorm', [f32('x', [3, 5]), f32('gamma', [3]), f32('beta', [5])]), invalid(/'gamma' must have dims \[5\]/));
    assert.throws(() => rowsLayout('relu', [f32('x', [15])]), invalid(/matrix/));
    assert.throws(() => rowsLayout('relu', [f32('x', [0, 4])]), invalid(/matrix/));
    assert.throws(() => rowsLayout('relu', [{ name: 'x', dtype: 'int32', dims: [2, 2] }]), invalid(/float32/));
    assert.throws(() => rowsLayout('gelu' as 'relu', [f32('x', [2, 2])]), invalid(/op is unknown/));
  });

  it('workUnitsForRows() is the MFLOP of the op, at least 1', () => {
    assert.equal(workUnitsForRows('sum', 1, 1), 1);
    assert.equal(workUnitsForRows('sum', 1000, 1000), 1);
    assert.equal(workUnitsForRows('sum', 1000, 1001), 2);
    assert.equal(workUnitsForRows('layernorm', 1000, 1000), 7);
    assert.throws(() => workUnitsForRows('sum', 0, 4), /'rows'/);
  });

  it('checkShard() accepts a planned shard and refuses a wrong output, a dispatch or fewer work units than it costs', () => {
    const k: RowsKernel = { kind: 'rows', op: 'sum' };
    const ok = shard(k, [f32('x', [2000, 1000])]);
    assert.doesNotThrow(() => checkShard(k, ok));
    assert.throws(() => checkShard(k, { ...ok, outputs: [f32('y', [2000, 1000])] }), invalid(/must output y float32\[2000\]/));
    assert.throws(() => checkShard(k, { ...ok, outputs: [f32('y', [2000]), f32('z', [1])] }), invalid(/must output/));
    assert.throws(() => checkShard(k, { ...ok, dispatch: [1, 1, 1] }), invalid(/dispatch/));
    assert.throws(() => checkShard(k, { ...ok, workUnits: 1 }), invalid(/is 2 work units: current value is 1/));
    assert.throws(() => checkShard({ kind: 'rows', op: 'add' }, ok), invalid(/takes inputs \[x,b\]/));
  });

  it('a contributor needs a GPU whose bindings hold every buffer of the shard, judged per shard', () => {
    const k: RowsKernel = { kind: 'rows', op: 'layernorm' };
    const s = shard(k, [f32('x', [64, 256]), f32('gamma', [256]), f32('beta', [256])]);
    assert.equal(perShard('rows'), true);
    assert.match(kernelIneligibility(caps(), k, s) ?? '', /no WebGPU adapter/);
    assert.equal(kernelIneligibility(caps(1 << 20), k, s), null);
    assert.match(kernelIneligibility(caps(32 * 1024), k, s) ?? '', /buffer 'x' of 65536 bytes exceeds the adapter's 32768/);
  });
});
