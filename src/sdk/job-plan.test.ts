import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../core/hash.ts';
import { matmulTileInputs, matmulTiles, packTensors, splitBatch, unpackTensors } from '../core/sharding.ts';
import { packBatchShards } from './job-plan.ts';
import { packMatmulTile, planMatmul, planOnnx, planWgsl } from './kernels/index.ts';

const model = new Uint8Array([8, 1, 2, 3, 4]).buffer;
const loadModel = async () => ({ bytes: model, hash: await sha256Hex(model) });

describe('job plans', () => {
  it('planOnnx() addresses the model by hash and splits the batch into hashed shards', async () => {
    const x = Float32Array.from({ length: 5 * 2 }, (_, i) => i);
    const plan = await planOnnx({ model: { url: 'http://h/m.onnx', name: 'm' }, inputs: { x: { dtype: 'float32', dims: [5, 2], data: x } }, outputs: ['y'], itemsPerShard: 2 }, loadModel);
    assert.equal(plan.kernel.kind === 'onnx' && plan.kernel.model.hash, await sha256Hex(model));
    assert.deepEqual(plan.shards.map((s) => s.spec.inputs[0]!.dims), [[2, 2], [2, 2], [1, 2]]);
    assert.deepEqual(plan.shards.map((s) => s.spec.workUnits), [2000, 2000, 1000]);
    const last = plan.shards[2]!;
    assert.equal(last.spec.inputHash, await sha256Hex(last.inputs));
    assert.deepEqual([...new Float32Array(unpackTensors(last.inputs, last.spec.inputs)[0]!.data)], [8, 9]);
  });

  it('planOnnx() runs a model the SDK holds by its bytes and hash, naming no URL and loading nothing', async () => {
    const edited = new Uint8Array([8, 9, 9]).buffer;
    const loaded = { bytes: edited, hash: await sha256Hex(edited) };
    let loads = 0;
    const x = Float32Array.from([1, 2]);
    const plan = await planOnnx({ model: { loaded, name: 'edited' }, inputs: { x: { dtype: 'float32', dims: [2, 1], data: x } }, outputs: ['y'] }, () => {
      loads++;
      return loadModel();
    });
    assert.equal(loads, 0);
    assert.deepEqual(plan.kernel.kind === 'onnx' && plan.kernel.model, { hash: loaded.hash, bytes: 3, name: 'edited' });
    assert.equal(plan.model, edited);
  });

  it('planOnnx() packs the inputs before returning, so the caller may reuse its array at once', async () => {
    const x = Float32Array.from([1, 2, 3, 4]);
    const planning = planOnnx({ model: { url: 'u' }, inputs: { x: { dtype: 'float32', dims: [2, 2], data: x } }, outputs: ['y'] }, loadModel);
    x.fill(0);
    const plan = await planning;
    assert.deepEqual([...new Float32Array(plan.shards.flatMap((s) => [...new Float32Array(s.inputs)]))], [1, 2, 3, 4]);
  });

  it('packBatchShards() lays out shards exactly as splitBatch() then packTensors() do', () => {
    const a = Float32Array.from({ length: 7 * 3 }, (_, i) => i + 0.5);
    const b = Int32Array.from({ length: 7 * 2 }, (_, i) => -i);
    const tensors = [
      { name: 'a', dtype: 'float32' as const, dims: [7, 3], data: a.slice().buffer },
      { name: 'b', dtype: 'int32' as const, dims: [7, 2], data: b.slice().buffer },
    ];
    const views = tensors.map((t) => ({ ...t, bytes: new Uint8Array(t.data) }));
    const packed = packBatchShards(views, 3);
    const expected = splitBatch(tensors, 3);
    assert.equal(packed.length, expected.length);
    packed.forEach((p, i) => {
      assert.deepEqual(new Uint8Array(p.bytes), new Uint8Array(packTensors(expected[i]!)));
      assert.deepEqual(p.inputs, expected[i]!.map(({ name, dtype, dims }) => ({ name, dtype, dims })));
    });
  });

  it('packMatmulTile() lays out a tile as matmulTileInputs() then packTensors() do, B first', () => {
    const m = 5, k = 3, n = 7;
    const a = Float32Array.from({ length: m * k }, (_, i) => i);
    const b = Float32Array.from({ length: k * n }, (_, i) => 100 + i);
    for (const tile of [...matmulTiles(m, n, 4), ...matmulTiles(m, n, 8)]) {
      const [ta, tb] = matmulTileInputs(a, b, k, n, tile);
      const want = [tb!, ta!];
      const got = packMatmulTile(a, b, k, n, tile);
      assert.deepEqual(new Uint8Array(got.bytes), new Uint8Array(packTensors(want)), `tile ${JSON.stringify(tile)}`);
      assert.deepEqual(got.inputs, want.map(({ name, dtype, dims }) => ({ name, dtype, dims })));
    }
  });

  it('planOnnx() refuses a typed array whose element size does not match the dtype', async () => {
    await assert.rejects(
      planOnnx({ model: { url: 'u' }, inputs: { x: { dtype: 'float32', dims: [2], data: new Float64Array(1) } }, outputs: ['y'] }, loadModel),
      /float32 needs 4-byte elements: current array has 8-byte elements/,
    );
  });

  it('an ONNX plan accepts any output shape with the shard batch on axis 0 and assembles by name', async () => {
    const plan = await planOnnx({ model: { url: 'u' }, inputs: { x: { dtype: 'float32', dims: [3], data: new Float32Array(3) } }, outputs: ['y'], itemsPerShard: 2 }, loadModel);
    const spec = plan.shards[0]!.spec;
    plan.checkOutputs(spec, [{ name: 'y', dtype: 'int64', dims: [2, 7] }]);
    assert.throws(() => plan.checkOutputs(spec, [{ name: 'y', dtype: 'float32', dims: [3, 7] }]), /axis 0 must be 2/);
    assert.throws(() => plan.checkOutputs(spec, [{ name: 'z', dtype: 'float32', dims: [2] }]), /must be \[y\]: current value is \[z\]/);
    const result = plan.assemble([
      [{ name: 'y', dtype: 'int32', dims: [2, 1], data: new Int32Array([1, 2]).buffer }],
      [{ name: 'y', dtype: 'int32', dims: [1, 1], data: new Int32Array([3]).buffer }],
    ]);
    assert.deepEqual(result.y!.dims, [3, 1]);
    assert.ok(result.y!.data instanceof Int32Array);
    assert.deepEqual([...result.y!.data], [1, 2, 3]);
  });

  it('planMatmul() makes one built-in matmul shard per tile with exact output specs and no dispatch', async () => {
    const m = 130, k = 3, n = 70;
    const plan = await planMatmul({ a: new Float32Array(m * k), b: new Float32Array(k * n), m, k, n, tile: 64 });
    assert.deepEqual(plan.kernel, { kind: 'matmul' });
    assert.equal(plan.shards.length, 3 * 2);
    const s = plan.shards[5]!.spec;
    assert.deepEqual(s.outputs, [{ name: 'c', dtype: 'float32', dims: [2, 6] }]);
    assert.equal(s.dispatch, undefined);
    assert.deepEqual(s.inputs.map((t) => t.dims), [[3, 6], [2, 3]]); // B first: see packMatmulTile
    assert.throws(() => plan.checkOutputs(s, [{ name: 'c', dtype: 'float32', dims: [6, 2] }]), /must be float32\[2,6\]/);
  });

  it('a single-shard plan assembles its outputs as the result, for ONNX and for a matmul with one tile', async () => {
    const onnx = await planOnnx({ model: { url: 'u' }, inputs: { x: { dtype: 'float32', dims: [2], data: new Float32Array(2) } }, outputs: ['y'] }, loadModel);
    const y = onnx.assemble([[{ name: 'y', dtype: 'float32', dims: [2, 1], data: Float32Array.from([7, 8]).buffer }]]);
    assert.deepEqual([...y.y!.data], [7, 8]);
    assert.deepEqual(y.y!.dims, [2, 1]);
    const matmul = await planMatmul({ a: new Float32Array(2 * 3), b: new Float32Array(3 * 2), m: 2, k: 3, n: 2, tile: 2 });
    assert.equal(matmul.shards.length, 1);
    const c = matmul.assemble([[{ name: 'c', dtype: 'float32', dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]).buffer }]]);
    assert.deepEqual([...c], [1, 2, 3, 4]);
  });

  it('planMatmul() refuses operands of the wrong length', async () => {
    await assert.rejects(planMatmul({ a: new Float32Array(5), b: new Float32Array(6), m: 2, k: 3, n: 2 }), /'a' must be a Float32Array of m\*k = 6 values/);
  });

  it('planWgsl() keeps caller shards and refuses inputs of the wrong size', async () => {
    const kernel = { source: 's', entryPoint: 'main', bindings: [{ binding: 0, role: 'input' as const }, { binding: 1, role: 'output' as const }] };
    const good = { inputs: [{ name: 'x', dtype: 'float32' as const, dims: [2], data: new ArrayBuffer(8) }], outputs: [{ name: 'y', dtype: 'float32' as const, dims: [2] }], dispatch: [1, 1, 1] as [number, number, number], workUnits: 1 };
    const plan = await planWgsl({ kernel, shards: [good] });
    assert.deepEqual(plan.shards[0]!.spec.dispatch, [1, 1, 1]);
    await assert.rejects(planWgsl({ kernel, shards: [{ ...good, inputs: [{ ...good.inputs[0]!, data: new ArrayBuffer(4) }] }] }), /needs 8 bytes: current length is 4/);
  });
});
