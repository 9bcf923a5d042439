import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
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

  it('readSubmit() refuses a row-kernel shard that does not fit its op or declares fewer work units than it costs', async () => {
    const x = { name: 'x', dtype: 'float32', dims: [2000, 1000] };
    const shard = { index: 0, inputs: [x], outputs: [{ name: 'y', dtype: 'float32', dims: [2000] }], inputHash: 'a'.repeat(64), workUnits: 2 };
    const job = (kernel: unknown, shards: unknown[]) => ({ ...onnxJob({ shards: 1 }), kernel, shards });
    const ok = await readSubmit({ type: 'submit', rid: 1, job: job({ kind: 'rows', op: 'sum' }, [shard]), signature: 'abc' });
    assert.equal(ok.frame.job.shards.length, 1);
    const refused = async (kernel: unknown, s: unknown, re: RegExp) => {
      const err = await readSubmit({ type: 'submit', rid: 1, job: job(kernel, [shard, s]), signature: 'abc' }).then(() => undefined, (e) => e);
      assert.ok(err instanceof MeshError && err.code === 'invalid-message', String(err));
      assert.match(err.message, re);
    };
    await refused({ kind: 'rows', op: 'sum' }, { ...shard, index: 1, workUnits: 1 }, /row-kernel shard 1 .*is 2 work units: current value is 1/);
    await refused({ kind: 'rows', op: 'sum' }, { ...shard, index: 1, outputs: [{ name: 'y', dtype: 'float32', dims: [2000, 1000] }] }, /must output y float32\[2000\]/);
    await refused({ kind: 'rows', op: 'add' }, { ...shard, index: 1 }, /row-kernel shard 0 as 'add' takes inputs \[x,b\]/);
  });
});
