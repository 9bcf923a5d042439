import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PENDING_INPUT_HASH } from '../protocol/pipeline.ts';
import { checkStages, microBatches, planLaterStage } from './pipeline-plan.ts';

const model = { bytes: new Uint8Array([1, 2, 3]).buffer, hash: 'c'.repeat(64) };
const stage = (inputs: string[], outputs: string[]) => ({ model, inputs: inputs.map((name) => ({ name, dtype: 'float32' as const })), outputs });

describe('pipeline plans', () => {
  it('checkStages() refuses too few stages and a stage whose inputs are not the outputs before it', () => {
    assert.throws(() => checkStages([stage(['x'], ['y'])]), /2\.\.16 stages: current count is 1/);
    assert.throws(() => checkStages([stage(['x'], ['h']), stage(['g'], ['y'])]), /stage 0's outputs \[h\]: current value is \[g\]/);
    checkStages([stage(['x'], ['h', 'k']), stage(['h', 'k'], ['y'])]);
  });

  it('microBatches() splits the batch so every stage has work, or by the size asked', () => {
    assert.deepEqual(microBatches(12, 3, undefined), [2, 2, 2, 2, 2, 2]);
    assert.deepEqual(microBatches(5, 2, 2), [2, 2, 1]);
    assert.throws(() => microBatches(5, 2, 0), /'microBatch' must be a positive integer/);
  });

  it('planLaterStage() names pulled inputs with a pending hash and keeps outputs but at the last stage', async () => {
    const mid = planLaterStage(stage(['h'], ['k']), [2, 1], { id: 'p', stage: 1, stages: 3, upstream: 'j0' });
    assert.equal(mid.kernel.kind === 'onnx' && mid.kernel.model.url, undefined, 'a model made in the page has no URL');
    assert.deepEqual(mid.pipeline, { spec: { id: 'p', stage: 1, stages: 3, upstream: 'j0' }, pulled: true, keep: true });
    assert.deepEqual(mid.shards.map((s) => [s.spec.inputHash, s.spec.inputs[0]!.dims, s.inputs.byteLength]), [[PENDING_INPUT_HASH, [2], 0], [PENDING_INPUT_HASH, [1], 0]]);
    const last = planLaterStage(stage(['k'], ['y']), [2], { id: 'p', stage: 2, stages: 3, upstream: 'j1' });
    assert.equal(last.pipeline?.keep, false);
    assert.throws(() => last.checkOutputs(last.shards[0]!.spec, [{ name: 'y', dtype: 'float32', dims: [3, 5] }]), /axis 0 must be 2/);
    mid.checkOutputs(mid.shards[0]!.spec, [{ name: 'k', dtype: 'int64', dims: [4] }]); // a cut tensor need not be batch-first
  });
});
