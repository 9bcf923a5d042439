// The deep MLP generator (testing/deep-mlp.ts) that stands for models too big for one contributor: its size is
// what was asked, its outputs stay bounded, and split by weight bytes its stages chain to the whole model.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { partitionOnnx } from './partition.ts';
import { maxAbsDiff, ort, runChain, runWhole } from './testing/ort-chain.ts';
import { deepMlp, deepMlpWeightBytes } from './testing/deep-mlp.ts';

describe('deep MLP test model', () => {
  it('has the weight bytes asked, bounded outputs, and splits into stages that chain to the whole model', async () => {
    const shape = { layers: 12, width: 96, seed: 7 };
    const bytes = deepMlp(shape);
    const weights = deepMlpWeightBytes(shape);
    assert.equal(weights, 12 * (96 * 96 + 96) * 4);
    assert.ok(bytes.byteLength >= weights && bytes.byteLength < weights + 8192, `model ${bytes.byteLength} bytes for ${weights} of weights`);
    const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 96 }, (_, i) => Math.sin(i)), [3, 96]);
    const whole = await runWhole(bytes, { x });
    const y = whole.y!.data as Float32Array;
    assert.ok(y.every((v) => Math.abs(v) < 1) && y.some((v) => Math.abs(v) > 0.05), 'outputs stay in (-1, 1) and are not all ~0');
    for (const stages of [3, 4]) {
      const plan = partitionOnnx(bytes, { stages });
      const w = plan.stages.map((s) => s.weightBytes);
      assert.ok(Math.max(...w) <= 1.5 * Math.min(...w), `stage weight bytes ${w}`);
      assert.ok(Math.max(...plan.stages.map((s) => s.model.byteLength)) < bytes.byteLength / (stages - 1), 'each stage a fraction of the model');
      const chained = await runChain(plan, { x });
      assert.ok(maxAbsDiff(chained.y!, whole.y!) <= 1e-5);
    }
    assert.throws(() => deepMlp({ layers: 0, width: 8 }), /at least one layer/);
    assert.throws(() => deepMlp({ layers: 200, width: 2048 }), /under 2 GiB/);
  });
});
