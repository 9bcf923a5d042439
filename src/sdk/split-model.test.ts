/** splitModel(): the SDK's way to a stage plan (the partitioner loads on first use). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../protocol/errors.ts';
import { mlp } from '../model/testing/tiny-models.ts';
import { splitModel } from './split-model.ts';

describe('splitModel', () => {
  it('splitModel() resolves with a plan whose stages cover every computing node once, in order', async () => {
    const plan = await splitModel(mlp(3), { stages: 3 });
    assert.deepEqual(plan.stages.map((s) => [s.nodes.start, s.nodes.end]), [[0, 3], [3, 6], [6, 9]]);
    assert.deepEqual(plan.stages.map((s) => s.weightBytes), [288, 288, 288]);
    assert.deepEqual(plan.stages[1]!.inputs, [{ name: 'h0', type: 'float32', from: 0 }]);
    assert.ok(plan.stages.every((s) => s.model instanceof Uint8Array && s.model.byteLength > 288));
  });

  it('splitModel() rejects bytes that are not ONNX with a bad-input MeshError', async () => {
    await assert.rejects(splitModel(new TextEncoder().encode('not a model'), { stages: 2 }), (e: unknown) => e instanceof MeshError && e.code === 'bad-input');
  });
});
