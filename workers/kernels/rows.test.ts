/// <reference lib="deno.webgpu" />
// Row-kernel tasks through the worker's real run path (rowsWgslTask -> runWgsl on Deno's WebGPU adapter),
// against f64 references, at shapes that take the vec4 and the scalar variants; and hostile tasks.
import { assertClose, randomF32 } from '../../shaders/testing/harness.ts';
import { elementwiseReference, layerNormReference, reduceReference, softmaxReference } from '../../shaders/testing/reference.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { RowOp } from '../../src/protocol/kernel.ts';
import type { TensorData } from '../../src/protocol/tensor.ts';
import type { RowsTask } from '../../src/protocol/worker.ts';
import { GpuDeviceManager } from '../gpu/device.ts';
import { type RowSources, rowsWgslTask, runRows } from './rows.ts';

const read = (name: string) => Deno.readTextFile(new URL(`../../shaders/${name}.wgsl`, import.meta.url));
const sources: RowSources = { reduce: await read('reduce'), softmax: await read('softmax'), layernorm: await read('layernorm'), elementwise: await read('elementwise') };
const gpu = new GpuDeviceManager();

const t = (name: string, dims: number[], data: Float32Array): TensorData => ({ name, dtype: 'float32', dims, data: data.slice().buffer });

/** y of `op` over a random [rows, cols] on the GPU, and its f64 reference with the error scale of each element. */
async function run(op: RowOp, rows: number, cols: number, seed: number): Promise<{ y: Float32Array; ref: ArrayLike<number>; scale?: ArrayLike<number>; dims: number[] }> {
  const x = randomF32(rows * cols, seed);
  const b = randomF32(rows * cols, seed + 1);
  const gamma = randomF32(cols, seed + 2);
  const beta = randomF32(cols, seed + 3);
  const inputs = [t('x', [rows, cols], x)];
  if (op === 'add' || op === 'mul') inputs.push(t('b', [rows, cols], b));
  if (op === 'layernorm') inputs.push(t('gamma', [cols], gamma), t('beta', [cols], beta));
  const task: RowsTask = { op, inputs, ...(op === 'affine' ? { alpha: -1.5, beta: 0.25 } : {}), ...(op === 'layernorm' ? { eps: 1e-5 } : {}) };
  const [out] = await runRows(task, sources, gpu);
  if (!out || out.name !== 'y' || out.dtype !== 'float32') throw new Error(`bad output ${JSON.stringify(out)}`);
  const y = new Float32Array(out.data);
  switch (op) {
    case 'sum':
    case 'max': {
      const r = reduceReference(op, x, rows, cols);
      return { y, ref: r.y, scale: r.scale, dims: out.dims };
    }
    case 'softmax':
      return { y, ref: softmaxReference(x, rows, cols), dims: out.dims };
    case 'layernorm': {
      const r = layerNormReference(x, gamma, beta, rows, cols, 1e-5);
      return { y, ref: r.y, scale: r.scale, dims: out.dims };
    }
    default: {
      // f32 rounds each term at its own size: a sum that cancels is exact only to its terms' scale.
      const scale = x.map((v, i) => (op === 'add' ? Math.abs(v) + Math.abs(b[i]!) : op === 'affine' ? Math.abs(v * 1.5) + 0.25 : Math.abs(v * (op === 'mul' ? b[i]! : 1))));
      return { y, ref: elementwiseReference(op, x, b, -1.5, 0.25), scale, dims: out.dims };
    }
  }
}

const OPS: RowOp[] = ['sum', 'max', 'softmax', 'layernorm', 'add', 'mul', 'relu', 'affine'];

for (const [rows, cols, variant] of [[37, 64, 'vec4'], [29, 45, 'scalar'], [3, 1, 'one column']] as const) {
  Deno.test(`runRows() computes every op over [${rows}, ${cols}] (${variant}) as the f64 reference does`, async () => {
    for (const [i, op] of OPS.entries()) {
      const { y, ref, scale, dims } = await run(op, rows, cols, 10 * i + cols);
      const want = op === 'sum' || op === 'max' ? [rows] : [rows, cols];
      if (dims.join() !== want.join()) throw new Error(`${op}: dims [${dims}], expected [${want}]`);
      assertClose(y, ref, 1e-5, scale, op);
    }
  });
}

Deno.test('rowsWgslTask() takes the vec4 variant exactly where the row length allows it', () => {
  const task = (cols: number): RowsTask => ({ op: 'softmax', inputs: [t('x', [2, cols], new Float32Array(2 * cols))] });
  if (!rowsWgslTask(task(8), sources).source.includes('alias T = vec4<f32>;')) throw new Error('cols 8 should run the vec4 variant');
  if (rowsWgslTask(task(6), sources).source.includes('alias T = vec4<f32>;')) throw new Error('cols 6 should run the scalar variant');
});

Deno.test('runRows() refuses hostile tasks with invalid-message before touching the device', async () => {
  const x = t('x', [4, 4], new Float32Array(16));
  const hostile: [RowsTask, RegExp][] = [
    [{ op: 'gelu' as RowOp, inputs: [x] }, /op is unknown/],
    [{ op: 'add', inputs: [x] }, /takes inputs \[x,b\]/],
    [{ op: 'relu', inputs: [x, x] }, /current inputs are \[x,x\]/],
    [{ op: 'mul', inputs: [x, t('b', [2, 8], new Float32Array(16))] }, /'b' must have dims \[4,4\]/],
    [{ op: 'layernorm', inputs: [x, t('gamma', [4], new Float32Array(4))] }, /takes inputs \[x,gamma,beta\]/],
    [{ op: 'sum', inputs: [t('x', [16], new Float32Array(16))] }, /matrix/],
    [{ op: 'affine', alpha: NaN, beta: 0, inputs: [x] }, /'alpha' must be a finite number/],
    [{ op: 'affine', inputs: [x] }, /'alpha' must be a finite number: current value is undefined/],
    [{ op: 'layernorm', eps: Infinity, inputs: [x, t('gamma', [4], new Float32Array(4)), t('beta', [4], new Float32Array(4))] }, /'eps'/],
  ];
  for (const [task, re] of hostile) {
    try {
      await runRows(task, sources, gpu);
    } catch (e) {
      if (!(e instanceof MeshError) || e.code !== 'invalid-message' || !re.test(e.message)) throw new Error(`${task.op}: unexpected ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
      continue;
    }
    throw new Error(`${task.op}: expected a rejection`);
  }
});

Deno.test('runRows() refuses x whose bytes disagree with its dims (the WGSL runner checks every binding)', async () => {
  const task: RowsTask = { op: 'relu', inputs: [{ name: 'x', dtype: 'float32', dims: [4, 4], data: new ArrayBuffer(60) }] };
  try {
    await runRows(task, sources, gpu);
  } catch (e) {
    if (!(e instanceof RangeError) || !/holds 60 bytes/.test(e.message)) throw new Error(`unexpected ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
    return;
  }
  throw new Error('expected a rejection');
});
