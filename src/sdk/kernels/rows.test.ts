import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../../core/hash.ts';
import { checkShard } from '../../core/kernels/index.ts';
import { unpackTensors } from '../../core/sharding.ts';
import { parseKernelSpec, parseShardSpec } from '../../protocol/kernel.ts';
import type { TensorData } from '../../protocol/tensor.ts';
import type { KernelTask } from '../../protocol/worker.ts';
import type { ModelCache } from '../../storage/model-cache.ts';
import type { BlobStream } from '../../mesh/blob-stream.ts';
import { planRows, ROWS_SHARDS } from './rows.ts';
import { leaseTask, type AssignFrame } from './index.ts';

const seq = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('row-kernel plans', () => {
  it('planRows() cuts x and b into blocks of whole rows that pass the coordinator schema and the kind check', async () => {
    const rows = 5, cols = 3;
    const plan = await planRows({ op: 'add', x: seq(15), b: seq(15, 100), rows, cols, rowsPerShard: 2 });
    assert.deepEqual(parseKernelSpec(plan.kernel), { kind: 'rows', op: 'add' });
    assert.deepEqual(plan.shards.map((s) => s.spec.inputs.map((t) => `${t.name}[${t.dims}]`)), [['x[2,3]', 'b[2,3]'], ['x[2,3]', 'b[2,3]'], ['x[1,3]', 'b[1,3]']]);
    for (const s of plan.shards) {
      checkShard(plan.kernel, parseShardSpec(s.spec));
      assert.equal(s.spec.inputHash, await sha256Hex(s.inputs));
    }
    const [x, b] = unpackTensors(plan.shards[1]!.inputs, plan.shards[1]!.spec.inputs);
    assert.deepEqual([...new Float32Array(x!.data)], [6, 7, 8, 9, 10, 11]);
    assert.deepEqual([...new Float32Array(b!.data)], [106, 107, 108, 109, 110, 111]);
  });

  it('planRows() sends gamma and beta whole with every layer-norm shard and reduces to y [rows] for sum', async () => {
    const ln = await planRows({ op: 'layernorm', x: seq(8), gamma: seq(4, 1), beta: seq(4, -1), eps: 1e-3, rows: 2, cols: 4, rowsPerShard: 1 });
    assert.deepEqual(ln.kernel, { kind: 'rows', op: 'layernorm', eps: 1e-3 });
    for (const s of ln.shards) {
      assert.deepEqual(s.spec.inputs.map((t) => t.dims), [[1, 4], [4], [4]]);
      assert.deepEqual([...new Float32Array(unpackTensors(s.inputs, s.spec.inputs)[1]!.data)], [1, 2, 3, 4]);
      assert.deepEqual(s.spec.outputs, [{ name: 'y', dtype: 'float32', dims: [1, 4] }]);
    }
    const sum = await planRows({ op: 'sum', x: seq(6), rows: 3, cols: 2 });
    assert.deepEqual(sum.shards.map((s) => s.spec.outputs[0]!.dims), [[1], [1], [1]]);
  });

  it('planRows() splits into at most 16 shards by default and assembles y in row order', async () => {
    const plan = await planRows({ op: 'relu', x: seq(100 * 2), rows: 100, cols: 2 });
    assert.equal(plan.shards.length, Math.ceil(100 / Math.ceil(100 / ROWS_SHARDS)));
    const outputs: TensorData[][] = plan.shards.map((s) => [{ name: 'y', dtype: 'float32', dims: s.spec.outputs[0]!.dims, data: new Float32Array(unpackTensors(s.inputs, s.spec.inputs)[0]!.data).buffer }]);
    assert.deepEqual([...plan.assemble(outputs)], [...seq(200)]);
  });

  it('planRows() refuses bad arguments with errors naming them', async () => {
    await assert.rejects(planRows({ op: 'sum', x: seq(5), rows: 2, cols: 3 }), /'x' must be a Float32Array of 6 values: current length is 5/);
    await assert.rejects(planRows({ op: 'mul', x: seq(6), b: seq(5), rows: 2, cols: 3 }), /'b' must be a Float32Array of 6/);
    await assert.rejects(planRows({ op: 'affine', x: seq(6), alpha: NaN, beta: 0, rows: 2, cols: 3 }), /'alpha' must be a finite number/);
    await assert.rejects(planRows({ op: 'gelu' as 'sum', x: seq(6), rows: 2, cols: 3 }), /'op' is unknown/);
    await assert.rejects(planRows({ op: 'sum', x: seq(6), rows: 2, cols: 3, rowsPerShard: 0 }), /'rowsPerShard'/);
    await assert.rejects(planRows({ op: 'sum', x: seq(0), rows: 0, cols: 3 }), /'rows' must be a positive integer/);
  });

  it("the contributor's task runs the shard as one pool task carrying the op, its parameters and the inputs", async () => {
    const plan = await planRows({ op: 'affine', alpha: 2, beta: -1, x: seq(6), rows: 2, cols: 3, rowsPerShard: 2 });
    const shard = plan.shards[0]!;
    const assign = { type: 'assign', kernel: plan.kernel, spec: shard.spec, lease: { leaseId: 'L', jobId: 'J', shard: 0, client: 'c', contributor: 'k', price: 1, expiresAt: Date.now() + 60_000, replica: false } } as AssignFrame;
    const seen: KernelTask[] = [];
    const pool = {
      hasOnnxSession: () => Promise.resolve(false),
      run: (task: KernelTask) => {
        seen.push(task);
        return Promise.resolve([{ name: 'y', dtype: 'float32' as const, dims: [2, 3], data: new ArrayBuffer(24) }]);
      },
    };
    const task = leaseTask({ assign, pool, cache: {} as ModelCache });
    assert.equal(await task.findModel(), 'none');
    const { outputs } = await task.compute({ stream: {} as BlobStream, specs: shard.spec.inputs, whole: () => Promise.resolve(shard.inputs), deadline: () => 0, output: () => () => {} });
    assert.equal(outputs[0]!.name, 'y');
    assert.equal(seen.length, 1);
    const sent = seen[0]!;
    assert.ok(sent.kind === 'rows' && sent.op === 'affine' && sent.alpha === 2 && sent.beta === -1 && sent.eps === undefined);
    assert.deepEqual([...new Float32Array(sent.inputs[0]!.data)], [0, 1, 2, 3, 4, 5]);
  });
});
