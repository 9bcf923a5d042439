/** partitionOnnx on small generated models (run in onnxruntime-node), and what it says to bad input. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../protocol/errors.ts';
import { DataType, decodeModel, encodeModel, int, type ModelProto } from './onnx-codec.ts';
import { partitionOnnx } from './partition.ts';
import { maxAbsDiff, ort, runChain, runWhole } from './testing/ort-chain.ts';
import { constant, floats, mixedTypes, mlp, model, node, value, withIf } from './testing/tiny-models.ts';

const input = (dims: number[], seed: number) => {
  const t = floats('x', dims, seed);
  return new ort.Tensor('float32', new Float32Array(t.rawData!.slice().buffer), dims);
};

/** Runs the plan's chain and the whole model on the same feeds and returns the largest difference per output. */
async function chainVsWhole(bytes: Uint8Array, stages: number, feeds: Record<string, ort.Tensor>): Promise<number[]> {
  const plan = partitionOnnx(bytes, { stages });
  const chained = await runChain(plan, feeds);
  const whole = await runWhole(bytes, feeds);
  return plan.outputs.map((o) => {
    const a = chained[o.name]!;
    const b = whole[o.name]!;
    return a.type === 'float32' ? maxAbsDiff(a, b) : [...(a.data as Iterable<unknown>)].join() === [...(b.data as Iterable<unknown>)].join() ? 0 : Infinity;
  });
}

/** Asserts `fn` throws a MeshError with this code whose message matches. */
function throwsMesh(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MeshError, `a MeshError, got ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

const graphOf = (bytes: Uint8Array) => decodeModel(bytes).graph!;

describe('partitionOnnx', () => {
  it('partitionOnnx() chains a 6-layer MLP (initializer weights) in 1..6 stages equal to the whole model', async () => {
    const bytes = mlp(6);
    for (let k = 1; k <= 6; k++) {
      const plan = partitionOnnx(bytes, { stages: k });
      // Each layer holds 8*8*4 + 8*4 = 288 bytes (a MatMul's 256, an Add's 32); no weight is read twice.
      assert.equal(plan.weightBytes, 6 * 288);
      const stageBytes = plan.stages.map((s) => s.weightBytes);
      assert.equal(stageBytes.reduce((a, b) => a + b, 0), 6 * 288);
      // Balanced: no stage above an even share plus one MatMul's weights.
      assert.ok(Math.max(...stageBytes) <= (6 * 288) / k + 256, `k=${k}: ${stageBytes}`);
      const diffs = await chainVsWhole(bytes, k, { x: input([3, 8], 9) });
      assert.ok(diffs.every((d) => d <= 1e-6), `k=${k}: ${diffs}`);
    }
  });

  it('partitionOnnx() cuts across int64, int32 and bool tensors and routes a skip connection from its stage', async () => {
    const bytes = mixedTypes();
    const seen = new Set<string>();
    for (let k = 2; k <= 10; k++) {
      const plan = partitionOnnx(bytes, { stages: k, balance: { cost: new Array(13).fill(1) } });
      for (const s of plan.stages) for (const i of s.inputs) seen.add(i.type);
      const diffs = await chainVsWhole(bytes, k, { x: input([2, 6], 3) });
      assert.ok(diffs.every((d) => d <= 1e-6), `k=${k}: ${diffs}`);
    }
    assert.deepEqual([...seen].sort(), ['bool', 'float32', 'int32', 'int64']);
    // In 10 stages (one node each) x2 is made by stage 0 and read by stages 1, 4 and 9.
    const plan = partitionOnnx(bytes, { stages: 10, balance: { cost: new Array(13).fill(1) } });
    const x2 = plan.stages[0]!.outputs.find((o) => o.name === 'x2')!;
    assert.deepEqual(x2.to, [1, 4, 9]);
    assert.deepEqual(plan.stages[9]!.inputs.map((i) => [i.name, i.type, i.from]), [['abs2', 'float32', 8], ['x2', 'float32', 0]]);
    // shape32 is a model output and is also read by the next stage.
    assert.deepEqual(plan.stages[2]!.outputs.map((o) => [o.name, o.type, o.to, o.graphOutput]), [['shape32', 'int32', [3], true]]);
    // The Constant `two` is copied only into the stage that reads it.
    assert.deepEqual(plan.stages.map((s) => s.weightBytes), [4, 0, 0, 0, 8, 4, 0, 0, 0, 0]);
  });

  it('partitionOnnx() gives a stage with an If node the tensors its branches read from the outer graph', async () => {
    const bytes = withIf();
    for (const k of [2, 3, 4]) {
      const plan = partitionOnnx(bytes, { stages: k, balance: { cost: new Array(7).fill(1) } });
      const ifStage = plan.stages.find((s) => graphOf(s.model).node!.some((n) => n.opType === 'If'))!;
      // `c` is read only inside the branches: it must still be copied in, and `x` fed.
      assert.ok(graphOf(ifStage.model).node!.some((n) => n.output![0] === 'c'), `k=${k}: c copied`);
      assert.ok(ifStage.inputs.some((i) => i.name === 'x'), `k=${k}: x fed`);
      for (const seed of [1, 2, 3, 4]) {
        const diffs = await chainVsWhole(bytes, k, { x: input([4], seed) });
        assert.ok(diffs.every((d) => d <= 1e-6), `k=${k} seed ${seed}: ${diffs}`);
      }
    }
  });

  it('partitionOnnx() keeps ir_version and opset_import and is deterministic', () => {
    const bytes = mixedTypes();
    const a = partitionOnnx(bytes, { stages: 3 });
    const b = partitionOnnx(bytes, { stages: 3 });
    assert.deepEqual(a.stages.map((s) => s.model), b.stages.map((s) => s.model));
    for (const s of a.stages) {
      const m = decodeModel(s.model);
      assert.equal(int(m.irVersion), 8);
      assert.deepEqual(m.opsetImport!.map((o) => [o.domain, int(o.version)]), [['', 13]]);
    }
    assert.deepEqual(a.inputs, [{ name: 'x', type: 'float32' }]);
    assert.equal(a.computingNodes, 10);
    assert.equal(a.weights, 3);
  });

  it('partitionOnnx() balances by a per-node cost and reports the bound one heavy node sets', () => {
    const bytes = mlp(4); // 12 computing nodes, no Constant nodes
    const cost = [1, 1, 1, 1, 1, 1, 30, 1, 1, 1, 1, 1];
    const plan = partitionOnnx(bytes, { stages: 3, balance: { cost } });
    assert.equal(plan.balance.by, 'cost');
    assert.equal(plan.balance.heaviest.cost, 30);
    assert.match(plan.balance.heaviest.node, /MatMul/);
    assert.equal(plan.balance.bound, 30 / ((41 - 30) / 2));
    assert.ok(plan.balance.ratio >= plan.balance.bound);
    assert.ok(plan.stages.some((s) => s.cost === 30 && s.nodes.end - s.nodes.start === 1), `${plan.stages.map((s) => s.cost)}`);
  });

  it('partitionOnnx() refuses bytes that are not an ONNX model with a bad-input MeshError', () => {
    throwsMesh(() => partitionOnnx(new TextEncoder().encode('hello, this is not a model'), { stages: 2 }), 'bad-input', /Cannot read the model as ONNX/);
    throwsMesh(() => partitionOnnx(new Uint8Array(0), { stages: 2 }), 'bad-input', /not an ONNX model: ir_version is 0 and graph is missing/);
    const noise = new Uint8Array(4096).map((_v, i) => (i * 2654435761) >>> 24);
    assert.throws(() => partitionOnnx(noise, { stages: 2 }), (e: unknown) => e instanceof MeshError && e.code === 'bad-input');
    throwsMesh(() => partitionOnnx(encodeModel(model({ name: 'empty', node: [] })), { stages: 1 }), 'bad-input', /has no nodes/);
    throwsMesh(() => partitionOnnx(encodeModel({ irVersion: 8, graph: { node: [node('Relu', ['x'], ['y'])] } }), { stages: 1 }), 'bad-input', /opset_import is empty/);
    assert.throws(() => partitionOnnx('model.onnx' as unknown as Uint8Array, { stages: 2 }), TypeError);
  });

  it('partitionOnnx() refuses a stage count outside 1..256 or above the computing nodes with a RangeError', () => {
    const bytes = mlp(2); // 6 computing nodes
    for (const stages of [0, -1, 1.5, Number.NaN, 257]) {
      assert.throws(() => partitionOnnx(bytes, { stages }), (e: unknown) => e instanceof RangeError && /'stages' must be an integer in \[1, 256\]/.test(e.message));
    }
    assert.throws(() => partitionOnnx(bytes, { stages: 7 }), /into 7 stages as it has only 6 computing nodes/);
    assert.equal(partitionOnnx(bytes, { stages: 6 }).stages.length, 6);
  });

  it('partitionOnnx() refuses a cost vector of the wrong length or with negative or non-finite entries', () => {
    const bytes = mlp(2);
    assert.throws(() => partitionOnnx(bytes, { stages: 2, balance: { cost: [1, 2] } }), /one number per graph node \(6\): current length is 2/);
    assert.throws(() => partitionOnnx(bytes, { stages: 2, balance: { cost: [1, 1, -1, 1, 1, 1] } }), /cost\[2\] must be a finite number >= 0/);
    assert.throws(() => partitionOnnx(bytes, { stages: 2, balance: { cost: [1, 1, 1, Infinity, 1, 1] } }), /cost\[3\]/);
  });

  it('partitionOnnx() names the malformed graph: cycle, undefined tensor, tensor defined twice, passed-through input', () => {
    const wrap = (nodes: ModelProto['graph']) => encodeModel(model(nodes!));
    const x = [value('x')];
    throwsMesh(
      () => partitionOnnx(wrap({ node: [node('Add', ['x', 'b'], ['a']), node('Relu', ['a'], ['b'])], input: x, output: [value('b')] }), { stages: 1 }),
      'bad-input',
      /cycle through node #0 'a' \(Add\)/,
    );
    throwsMesh(
      () => partitionOnnx(wrap({ node: [node('Add', ['x', 'ghost'], ['y'])], input: x, output: [value('y')] }), { stages: 1 }),
      'bad-input',
      /tensor 'ghost' read by node #0 'y' \(Add\) comes from no node, input or initializer/,
    );
    throwsMesh(
      () => partitionOnnx(wrap({ node: [node('Relu', ['x'], ['y']), node('Neg', ['x'], ['y'], {}, 'n2')], input: x, output: [value('y')] }), { stages: 1 }),
      'bad-input',
      /tensor 'y' is defined twice \(node #1 'n2' \(Neg\)\)/,
    );
    throwsMesh(
      () => partitionOnnx(wrap({ node: [node('Relu', ['x'], ['y'])], input: x, output: [value('y'), value('x')] }), { stages: 1 }),
      'unsupported',
      /graph output 'x' is a graph input passed through/,
    );
  });

  it('partitionOnnx() refuses weights kept in external files, and subgraphs nested 33 deep', () => {
    const external = { ...floats('w', [2], 1), rawData: null, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] };
    const g = { node: [node('Add', ['x', 'w'], ['y'])], initializer: [external], input: [value('x', DataType.FLOAT, [2])], output: [value('y')] };
    throwsMesh(() => partitionOnnx(encodeModel(model(g)), { stages: 1 }), 'unsupported', /tensor 'w' keeps its data in an external file/);
    let body = { name: 'b0', node: [node('Relu', ['x'], ['o0'])], output: [value('o0')] };
    const other = { name: 'e', node: [node('Neg', ['x'], ['e0'])], output: [value('e0')] };
    for (let d = 1; d <= 33; d++) body = { name: `b${d}`, node: [node('If', ['cond'], [`o${d}`], { then_branch: body, else_branch: other })], output: [value(`o${d}`)] };
    const nested = { node: [node('Greater', ['x', 'x'], ['cond']), ...body.node], input: [value('x', DataType.FLOAT, [])], output: [value('o33')] };
    throwsMesh(() => partitionOnnx(encodeModel(model(nested)), { stages: 1 }), 'bad-input', /nest deeper than 32 levels/);
  });

  it('partitionOnnx() does not cut across a tensor of unknown type, and says so when no cut is left', () => {
    // A custom-domain op whose output type no rule knows, read at the end: every cut would carry it.
    const custom = { ...node('Mystery', ['x'], ['m']), domain: 'example.custom' };
    const nodes = [custom, node('Relu', ['x'], ['r']), node('Neg', ['r'], ['n']), node('Add', ['n', 'm'], ['y'])];
    const g = { node: nodes, input: [value('x', DataType.FLOAT, [2])], output: [value('y')] };
    const m = model(g);
    m.opsetImport!.push({ domain: 'example.custom', version: 1 });
    throwsMesh(() => partitionOnnx(encodeModel(m), { stages: 2 }), 'unsupported', /into 2 stages as only 0 cut points carry tensors of known type/);
    // Once the model states m's type, it may be cut.
    g.node = nodes;
    (g as { valueInfo?: unknown[] }).valueInfo = [value('m')];
    const plan = partitionOnnx(encodeModel(m), { stages: 2 });
    assert.ok(plan.stages[1]!.inputs.some((i) => i.name === 'm' && i.type === 'float32'));
  });

  it('partitionOnnx() counts a Constant that is a model output in the last stage', async () => {
    const bytes = encodeModel(
      model({ name: 'k', node: [constant(floats('k', [3], 4)), node('Relu', ['x'], ['r']), node('Neg', ['r'], ['y'])], input: [value('x', DataType.FLOAT, [3])], output: [value('y'), value('k')] }),
    );
    const plan = partitionOnnx(bytes, { stages: 2 });
    assert.deepEqual(plan.stages.map((s) => s.weightBytes), [0, 12]);
    assert.deepEqual(plan.stages[1]!.outputs.map((o) => [o.name, o.graphOutput]), [['y', true], ['k', true]]);
    const diffs = await chainVsWhole(bytes, 2, { x: input([3], 8) });
    assert.deepEqual(diffs, [0, 0]);
  });
});
