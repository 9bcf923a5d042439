import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJobSpec } from './coordinator.ts';
import { parsePeerFrame } from './peer.ts';
import { checkPulledSpecs, MAX_PIPELINE_STAGES, PENDING_INPUT_HASH } from './pipeline.ts';

const hash = 'a'.repeat(64);
const job = {
  kernel: { kind: 'onnx', model: { hash, bytes: 10 }, outputs: ['h'] },
  shards: [{ index: 0, inputs: [{ name: 'x', dtype: 'float32', dims: [2] }], outputs: [{ name: 'h', dtype: 'float32', dims: [2] }], inputHash: PENDING_INPUT_HASH, workUnits: 2000 }],
  bid: 2,
  verifyFraction: 0,
  tolerance: { abs: 1e-4, rel: 1e-4 },
  deadlineMs: 60_000,
  nonce: 'n1',
};

describe('pipeline field of a job', () => {
  it('parseJobSpec() accepts a first stage without upstream and a later stage with one', () => {
    assert.equal(parseJobSpec({ ...job, pipeline: { id: 'p1', stage: 0, stages: 3 } }).pipeline?.stage, 0);
    assert.equal(parseJobSpec({ ...job, pipeline: { id: 'p1', stage: 2, stages: 3, upstream: 'jabc' } }).pipeline?.upstream, 'jabc');
  });

  it('parseJobSpec() refuses hostile pipeline values', () => {
    const bad: unknown[] = [
      { id: 'p1', stage: 3, stages: 3, upstream: 'j1' }, // stage past the end
      { id: 'p1', stage: 1, stages: 3 }, // later stage without upstream
      { id: 'p1', stage: 0, stages: 3, upstream: 'j1' }, // first stage with one
      { id: 'p1', stage: 0, stages: 1 }, // a one-stage pipeline is a plain job
      { id: 'p1', stage: 0, stages: MAX_PIPELINE_STAGES + 1 },
      { id: 'p1', stage: -1, stages: 3 },
      { id: 'p1', stage: 0.5, stages: 3 },
      { id: 'x'.repeat(65), stage: 0, stages: 3 },
      { id: 'p 1', stage: 0, stages: 3 },
      { id: 'p1', stage: 1, stages: 3, upstream: '../j1' },
      { id: 'p1', stage: 0, stages: 3, extra: true },
      'p1',
      null,
    ];
    for (const pipeline of bad) assert.throws(() => parseJobSpec({ ...job, pipeline }), /pipeline/, JSON.stringify(pipeline));
  });
});

describe('pull frame', () => {
  it('parsePeerFrame() accepts a pull and refuses one with a hostile lease id or extra fields', () => {
    assert.equal(parsePeerFrame({ type: 'pull', v: 2, leaseId: 'l1' }).type, 'pull');
    assert.throws(() => parsePeerFrame({ type: 'pull', v: 2, leaseId: 'x'.repeat(65) }), /leaseId/);
    assert.throws(() => parsePeerFrame({ type: 'pull', v: 2, leaseId: 'l1', bytes: 1e12 }), /bytes/);
    assert.throws(() => parsePeerFrame({ type: 'pull', leaseId: 'l1' }), /v/);
  });
});

describe('checkPulledSpecs()', () => {
  const expected = [{ name: 'h', dtype: 'float32' as const }];
  it('accepts specs whose names, dtypes and byte count fit', () => {
    checkPulledSpecs(expected, [{ name: 'h', dtype: 'float32', dims: [2, 3] }], 24);
  });
  it('refuses a renamed, retyped, missing or mis-sized tensor', () => {
    assert.throws(() => checkPulledSpecs(expected, [{ name: 'g', dtype: 'float32', dims: [2, 3] }], 24), /'h'/);
    assert.throws(() => checkPulledSpecs(expected, [{ name: 'h', dtype: 'int64', dims: [2, 3] }], 48), /float32/);
    assert.throws(() => checkPulledSpecs(expected, [], 0), /1 tensors/);
    assert.throws(() => checkPulledSpecs(expected, [{ name: 'h', dtype: 'float32', dims: [2, 4] }], 24), /32 bytes/);
  });
});
