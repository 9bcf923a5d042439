import { matmulDispatch, matmulParams } from './matmul.ts';
import { assertClose, randomF32, runKernel } from './testing/harness.ts';
import { matmulReference } from './testing/reference.ts';

const source = await Deno.readTextFile(new URL('./matmul.wgsl', import.meta.url));

async function gpuMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<Float32Array> {
  const out = await runKernel({
    source,
    bindings: [
      { binding: 0, kind: 'input', data: a },
      { binding: 1, kind: 'input', data: b },
      { binding: 2, kind: 'uniform', data: matmulParams(m, n, k) },
      { binding: 3, kind: 'output', bytes: m * n * 4 },
    ],
    dispatch: matmulDispatch(m, n),
  });
  return new Float32Array(out.get(3)!);
}

for (const [m, k, n] of [[1, 1, 1], [17, 33, 9], [100, 70, 130], [64, 16, 64], [65, 17, 63], [512, 512, 512]] as const) {
  Deno.test(`matmul.wgsl matches an f64 reference at M=${m} K=${k} N=${n} to 1e-4`, async () => {
    const a = randomF32(m * k, m * 7 + k);
    const b = randomF32(k * n, n * 13 + k);
    const c = await gpuMatmul(a, b, m, k, n);
    const ref = matmulReference(a, b, m, k, n);
    assertClose(c, ref.c, 1e-4, ref.scale);
  });
}

Deno.test('matmul.wgsl leaves no stale values: a tall-thin product overwrites every element of C', async () => {
  // 130 x 3 x 1: one column, three 64-row blocks, K smaller than one K slice.
  const m = 130, k = 3, n = 1;
  const a = randomF32(m * k, 5, 0.5, 1);
  const b = randomF32(k * n, 6, 0.5, 1);
  const c = await gpuMatmul(a, b, m, k, n);
  const ref = matmulReference(a, b, m, k, n);
  for (const v of c) if (!(v > 0)) throw new Error(`Expected every element positive, got ${v}`);
  assertClose(c, ref.c, 1e-4, ref.scale);
});

Deno.test('matmulDispatch() covers C with 64x64 blocks as (ceil(N/64), ceil(M/64), 1)', () => {
  const d = matmulDispatch(130, 65);
  if (d.join() !== '2,3,1') throw new Error(`Expected 2,3,1, got ${d.join()}`);
  let threw = false;
  try { matmulDispatch(0, 4); } catch (e) { threw = e instanceof RangeError; }
  if (!threw) throw new Error('Expected RangeError for m = 0');
});
