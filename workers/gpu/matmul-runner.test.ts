/// <reference lib="deno.webgpu" />
import { matmulConfigName } from '../../shaders/matmul.ts';
import { assertClose, randomF32 } from '../../shaders/testing/harness.ts';
import { matmulReference } from '../../shaders/testing/reference.ts';
import type { MatmulTask } from '../../src/protocol/worker.ts';
import { GpuDeviceManager } from './device.ts';
import { runMatmul } from './matmul-runner.ts';
import { tunedMatmul } from './tuned-matmul.ts';
import { TuneCache } from './tune-cache.ts';

const gpu = new GpuDeviceManager();
const SMALL = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 };

function task(m: number, k: number, n: number, seed: number): { task: MatmulTask; a: Float32Array; b: Float32Array } {
  const a = randomF32(m * k, seed);
  const b = randomF32(k * n, seed + 1);
  return {
    a,
    b,
    task: {
      a: { name: 'a', dtype: 'float32', dims: [m, k], data: a.slice().buffer },
      b: { name: 'b', dtype: 'float32', dims: [k, n], data: b.slice().buffer },
    },
  };
}

async function check(m: number, k: number, n: number, opts: Parameters<typeof runMatmul>[2]): Promise<void> {
  const t = task(m, k, n, m + k + n);
  const c = await runMatmul(t.task, gpu, opts);
  if (c.name !== 'c' || c.dtype !== 'float32' || c.dims.join() !== `${m},${n}`) throw new Error(`Unexpected output spec ${c.name} ${c.dtype} [${c.dims}]`);
  const ref = matmulReference(t.a, t.b, m, k, n);
  assertClose(new Float32Array(c.data), ref.c, 1e-4, ref.scale, `${m}x${k}x${n}`);
}

Deno.test('runMatmul() matches f64 in one block for vec4 and scalar shapes', async () => {
  await check(130, 68, 96, { config: SMALL });
  await check(67, 33, 45, { config: SMALL });
});

Deno.test('runMatmul() splits rows when A and C exceed the binding limit, and columns when B does', async () => {
  // 16 KiB bindings: A 200x60 (48 KB) and C 200x100 (80 KB) need row blocks; B 60x100 (24 KB) needs column blocks.
  await check(200, 60, 100, { config: SMALL, maxBindingBytes: 16384 });
  // Scalar variant on a ragged split (cols not a multiple of 4).
  await check(90, 50, 77, { config: SMALL, maxBindingBytes: 8192 });
});

Deno.test('runMatmul() refuses tensors that disagree with their dims, naming the tensor', async () => {
  const bad = task(4, 3, 2, 1).task;
  const cases: [MatmulTask, RegExp][] = [
    [{ ...bad, a: { ...bad.a, dims: [4, 2] } }, /'a' must carry 32 bytes/],
    [{ ...bad, b: { ...bad.b, dims: [2, 3] } }, /columns of 'a' \(3\) must equal the rows of 'b'/],
    [{ ...bad, a: { ...bad.a, dtype: 'int32' } }, /'a' must be a float32 tensor/],
    [{ ...bad, b: { ...bad.b, dims: [6] } }, /'b' must be a 2-D tensor/],
  ];
  for (const [t, pattern] of cases) {
    let message = '';
    try {
      await runMatmul(t, gpu, { config: SMALL });
    } catch (e) {
      message = (e as Error).message;
    }
    if (!pattern.test(message)) throw new Error(`Expected ${pattern}, got '${message}'`);
  }
});

Deno.test('tunedMatmul() tunes once per device, stores the choice, and a new device reads it back', async () => {
  const cache = new TuneCache();
  const handle = await gpu.acquire();
  const first = await tunedMatmul(handle, cache, 1500);
  if (first.cached || first.trials < 1) throw new Error(`Expected a fresh tuning, got ${JSON.stringify(first)}`);
  if ((await tunedMatmul(handle, cache, 1500)) !== (await tunedMatmul(handle, cache, 1500))) throw new Error('Expected one tuning per device');
  const other = new GpuDeviceManager();
  const again = await tunedMatmul(await other.acquire(), cache, 1500);
  if (!again.cached || matmulConfigName(again.config) !== matmulConfigName(first.config)) throw new Error(`Expected the stored choice, got ${JSON.stringify(again)}`);
  await other.dispose();
  // The tuned configuration runs the default path.
  await check(100, 40, 36, {});
});

Deno.test('refineMatmul() times the candidates a budget-bound probe left, one per call, until complete', async () => {
  const { refineMatmul } = await import('./tuned-matmul.ts');
  const { MATMUL_CANDIDATES, matmulConfigFits } = await import('../../shaders/matmul.ts');
  const cache = new TuneCache();
  const manager = new GpuDeviceManager();
  const handle = await manager.acquire();
  const fitting = MATMUL_CANDIDATES.filter((c) => matmulConfigFits(c, handle.limits)).length;
  const probe = await tunedMatmul(handle, cache, 0);
  if (probe.trials !== 1 || probe.complete) throw new Error(`Expected one candidate timed at the probe, got ${JSON.stringify(probe)}`);
  let steps = 0;
  let t = probe;
  while (!t.complete && steps < 20) {
    t = await refineMatmul(handle, cache);
    steps++;
  }
  if (!t.complete || t.trials !== fitting || steps !== fitting - 1) throw new Error(`Expected ${fitting - 1} steps to time all ${fitting}, got ${steps} steps, ${JSON.stringify(t)}`);
  if ((await refineMatmul(handle, cache)).trials !== fitting) throw new Error('Expected a complete tuning to stay as it is');
  // A new device of the same adapter reads the complete choice and has nothing left to refine.
  const other = new GpuDeviceManager();
  const again = await tunedMatmul(await other.acquire(), cache);
  if (!again.cached || !again.complete || matmulConfigName(again.config) !== matmulConfigName(t.config)) throw new Error(`Expected the complete stored choice, got ${JSON.stringify(again)}`);
  await other.dispose();
  await manager.dispose();
});
