/// <reference lib="deno.webgpu" />
import { MATMUL_BINDINGS, matmulDispatch, matmulParams, matmulWgsl } from '../../shaders/matmul.ts';
import { elementwiseDispatch, elementwiseParams } from '../../shaders/elementwise.ts';
import { assertClose, randomF32 } from '../../shaders/testing/harness.ts';
import { elementwiseReference, matmulReference } from '../../shaders/testing/reference.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { WgslTask } from '../../src/protocol/worker.ts';
import { GpuDeviceManager } from './device.ts';
import { runWgsl } from './runner.ts';

const matmul = matmulWgsl();
const elementwise = await Deno.readTextFile(new URL('../../shaders/elementwise.wgsl', import.meta.url));
const gpu = new GpuDeviceManager();

function matmulTask(m: number, k: number, n: number, a: Float32Array, b: Float32Array): WgslTask {
  return {
    source: matmul,
    entryPoint: 'main',
    bindings: [...MATMUL_BINDINGS],
    inputs: [
      { name: 'a', dtype: 'float32', dims: [m, k], data: a.slice().buffer },
      { name: 'b', dtype: 'float32', dims: [k, n], data: b.slice().buffer },
      { name: 'params', dtype: 'uint32', dims: [4], data: matmulParams(m, n, k) },
    ],
    outputs: [{ name: 'c', dtype: 'float32', dims: [m, n] }],
    dispatch: matmulDispatch(m, n),
  };
}

async function rejects(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    if (!check(e)) throw new Error(`${what}: unexpected error ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    return e;
  }
  throw new Error(`${what}: expected a rejection`);
}

Deno.test('runWgsl() runs the matmul kernel and returns C as a float32 tensor matching f64', async () => {
  const [m, k, n] = [100, 70, 130];
  const a = randomF32(m * k, 1);
  const b = randomF32(k * n, 2);
  const [c] = await runWgsl(matmulTask(m, k, n, a, b), gpu);
  if (!c || c.name !== 'c' || c.dtype !== 'float32' || c.dims.join() !== '100,130') throw new Error(`bad output ${JSON.stringify(c)}`);
  const ref = matmulReference(a, b, m, k, n);
  assertClose(new Float32Array(c.data), ref.c, 1e-4, ref.scale);
});

Deno.test('runWgsl() pads odd-sized uint8 outputs to 4 bytes on the GPU but returns exact lengths', async () => {
  const n = 7;
  const a = randomF32(n, 3);
  const task: WgslTask = {
    source: elementwise,
    entryPoint: 'main',
    bindings: [{ binding: 0, role: 'input' }, { binding: 1, role: 'input' }, { binding: 2, role: 'uniform' }, { binding: 3, role: 'output' }],
    inputs: [
      { name: 'a', dtype: 'float32', dims: [n], data: a.slice().buffer },
      { name: 'b', dtype: 'uint8', dims: [1], data: new Uint8Array([9]).buffer },
      { name: 'p', dtype: 'uint8', dims: [16], data: elementwiseParams(n, 'relu') },
    ],
    outputs: [{ name: 'y', dtype: 'float32', dims: [n] }],
    dispatch: elementwiseDispatch(n),
  };
  const [y] = await runWgsl(task, gpu);
  if (y!.data.byteLength !== n * 4) throw new Error(`expected ${n * 4} bytes, got ${y!.data.byteLength}`);
  assertClose(new Float32Array(y!.data), elementwiseReference('relu', a, a), 1e-6);
});

Deno.test('runWgsl() rejects a WGSL compile error as MeshError gpu-validation with the compiler message', async () => {
  const task = matmulTask(2, 2, 2, randomF32(4, 1), randomF32(4, 2));
  task.source = task.source.replace('let kFull = K / BK;', 'let kFull = K / undefined_thing;');
  const err = await rejects(runWgsl(task, gpu), (e) => e instanceof MeshError && e.code === 'gpu-validation', 'compile error');
  if (!/undefined_thing/.test((err as Error).message)) throw new Error(`message lacks the identifier: ${(err as Error).message}`);
});

Deno.test('runWgsl() rejects roles that disagree with the WGSL declarations as gpu-validation', async () => {
  const task = matmulTask(2, 2, 2, randomF32(4, 1), randomF32(4, 2));
  task.bindings = [{ binding: 0, role: 'input' }, { binding: 1, role: 'output' }, { binding: 2, role: 'uniform' }, { binding: 3, role: 'input' }];
  task.inputs = [task.inputs[0]!, task.inputs[2]!, { name: 'c', dtype: 'float32', dims: [4], data: new ArrayBuffer(16) }];
  task.outputs = [{ name: 'b', dtype: 'float32', dims: [4] }];
  await rejects(runWgsl(task, gpu), (e) => e instanceof MeshError && e.code === 'gpu-validation', 'role mismatch');
});

Deno.test('runWgsl() names the binding when input bytes do not match dtype x dims (RangeError)', async () => {
  const task = matmulTask(4, 4, 4, randomF32(16, 1), randomF32(16, 2));
  task.inputs[1]!.data = new ArrayBuffer(60);
  const err = await rejects(runWgsl(task, gpu), (e) => e instanceof RangeError, 'size mismatch');
  if (!/binding 1 \('b'\).*60 bytes.*need 64/.test((err as Error).message)) throw new Error((err as Error).message);
});

Deno.test('runWgsl() refuses a binding over maxStorageBufferBindingSize as too-large, naming size and limit', async () => {
  const handle = await gpu.acquire();
  const limit = handle.limits.maxStorageBufferBindingSize;
  const elements = limit / 4 + 1;
  const task = matmulTask(1, 1, 1, randomF32(1, 1), randomF32(1, 2));
  task.outputs = [{ name: 'c', dtype: 'float32', dims: [elements] }];
  const err = await rejects(runWgsl(task, gpu), (e) => e instanceof MeshError && e.code === 'too-large', 'oversized');
  if (!(err as Error).message.includes(`binding 3 ('c'`) || !(err as Error).message.includes(String(limit))) throw new Error((err as Error).message);
});

Deno.test('runWgsl() refuses a dispatch over maxComputeWorkgroupsPerDimension', async () => {
  const task = matmulTask(1, 1, 1, randomF32(1, 1), randomF32(1, 2));
  task.dispatch = [1, 70000, 1];
  await rejects(runWgsl(task, gpu), (e) => e instanceof MeshError && e.code === 'too-large' && /dispatch\[1\] = 70000/.test(e.message), 'dispatch');
});

Deno.test('the pipeline cache compiles a kernel once across runs and keys by source and entry point', async () => {
  const handle = await gpu.acquire();
  const before = handle.pipelines.size;
  const a = randomF32(9, 4);
  for (let i = 0; i < 3; i++) await runWgsl(matmulTask(3, 3, 3, a, a), gpu);
  const afterSame = handle.pipelines.size;
  const edited = matmulTask(3, 3, 3, a, a);
  edited.source += '\n// another kernel\n';
  await runWgsl(edited, gpu);
  if (afterSame - before > 1) throw new Error(`same kernel compiled ${afterSame - before} times`);
  if (handle.pipelines.size !== afterSame + 1) throw new Error('an edited source did not get its own pipeline');
});

Deno.test('a lost device rejects running work with gpu-device-lost and the next task gets a fresh device', async () => {
  const manager = new GpuDeviceManager();
  const first = await manager.acquire();
  const pending = manager.run(() => new Promise<never>(() => {})); // work that would never finish
  first.device.destroy();
  await rejects(pending, (e) => e instanceof MeshError && e.code === 'gpu-device-lost', 'device loss');
  const a = randomF32(4, 5);
  const [c] = await runWgsl(matmulTask(2, 2, 2, a, a), manager);
  const second = await manager.acquire();
  if (second.device === first.device) throw new Error('expected a new device after the loss');
  assertClose(new Float32Array(c!.data), matmulReference(a, a, 2, 2, 2).c, 1e-5);
  await manager.dispose();
});
