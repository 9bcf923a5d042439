import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/protocol/coordinator.ts';
import { ValidationError } from '../../src/protocol/validate.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { readSubmit, SLICE } from './submit-frame.ts';

describe('mesh API: reading a submit', () => {
  it('readSubmit() validates every shard, pausing between slices, and builds the same canonical text', async () => {
    const job = onnxJob({ shards: 2_600, items: 1 });
    let pauses = 0;
    const { frame, canonical } = await readSubmit({ type: 'submit', rid: 4, job, signature: 'abc' }, () => (pauses++, Promise.resolve()));
    assert.equal(canonical, canonicalJson(job));
    assert.deepEqual(frame.job, job);
    assert.equal(pauses, 2 * Math.floor(job.shards.length / SLICE), 'one pause per slice, validating and writing');
  });

  it('readSubmit() names the bad field of a shard deep in the list', async () => {
    const job = onnxJob({ shards: 8_000, items: 1 }) as unknown as { shards: Record<string, unknown>[] };
    job.shards[7_003]!.workUnits = -1;
    job.shards[7_500]!.__proto__ = 'x';
    const err = await readSubmit({ type: 'submit', rid: 1, job, signature: 'abc' }).then(() => undefined, (e) => e);
    assert.ok(err instanceof ValidationError);
    assert.match(err.message, /job\.shards\[7003\]\.workUnits/);
  });

  it('readSubmit() refuses a header with an unknown field before looking at any shard', async () => {
    const err = await readSubmit({ type: 'submit', rid: 1, job: { ...onnxJob({ shards: 1 }), extra: 1 }, signature: 'abc' }).then(() => undefined, (e) => e);
    assert.ok(err instanceof ValidationError);
    assert.match(err.message, /job\.extra/);
  });
});
