import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../protocol/errors.ts';
import type { KernelKind } from '../../protocol/kernel.ts';
import { checkShard, KERNELS, kernelRules, perShard } from './index.ts';

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

  it('checkShard() passes kinds without a check', () => {
    const spec = { index: 0, inputs: [{ name: 'x', dtype: 'float32' as const, dims: [1] }], outputs: [{ name: 'y', dtype: 'float32' as const, dims: [1] }], inputHash: 'a'.repeat(64), workUnits: 1 };
    assert.doesNotThrow(() => checkShard({ kind: 'matmul' }, spec));
  });
});
