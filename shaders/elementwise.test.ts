import { ELEMENTWISE_WORKGROUP, elementwiseDispatch, elementwiseParams, type ElementwiseOp, elementwiseVec4Source } from './elementwise.ts';
import { assertClose, randomF32, runKernel } from './testing/harness.ts';
import { elementwiseReference } from './testing/reference.ts';

const source = await Deno.readTextFile(new URL('./elementwise.wgsl', import.meta.url));
const vec4Source = elementwiseVec4Source(source);

async function gpuElementwise(
  op: ElementwiseOp, a: Float32Array, b: Float32Array, alpha: number, beta: number,
  dispatch = elementwiseDispatch(a.length), width: 1 | 4 = 1,
): Promise<Float32Array> {
  const out = await runKernel({
    source: width === 4 ? vec4Source : source,
    bindings: [
      { binding: 0, kind: 'input', data: a },
      { binding: 1, kind: 'input', data: b },
      { binding: 2, kind: 'uniform', data: elementwiseParams(a.length, op, alpha, beta) },
      { binding: 3, kind: 'output', bytes: a.length * 4 },
    ],
    dispatch,
  });
  return new Float32Array(out.get(3)!);
}

const ops: ElementwiseOp[] = ['add', 'mul', 'relu', 'affine'];
for (const op of ops) {
  for (const n of [1, 3, 255, 257, 100_003]) {
    Deno.test(`elementwise.wgsl '${op}' matches an f64 reference at n=${n}`, async () => {
      const a = randomF32(n, n + 1);
      const b = randomF32(n, n + 2);
      const alpha = Math.fround(-1.75), beta = Math.fround(0.3125);
      const y = await gpuElementwise(op, a, b, alpha, beta);
      const ref = elementwiseReference(op, a, b, alpha, beta);
      // affine can cancel (a*alpha ~ -beta): its error scale is |a*alpha| + |beta|, not |y|.
      const scale = op === 'affine' ? Float64Array.from(a, (x) => Math.abs(x * alpha) + Math.abs(beta)) : undefined;
      assertClose(y, ref, 1e-4, scale);
    });
  }
}

for (const op of ops) {
  for (const n of [4, 256, 1028, 100_004]) {
    Deno.test(`elementwise vec4 variant '${op}' matches an f64 reference at n=${n}`, async () => {
      const a = randomF32(n, n + 3);
      const b = randomF32(n, n + 4);
      const alpha = Math.fround(-1.75), beta = Math.fround(0.3125);
      const y = await gpuElementwise(op, a, b, alpha, beta, elementwiseDispatch(n, 4), 4);
      const ref = elementwiseReference(op, a, b, alpha, beta);
      const scale = op === 'affine' ? Float64Array.from(a, (x) => Math.abs(x * alpha) + Math.abs(beta)) : undefined;
      assertClose(y, ref, 1e-4, scale, `vec4 ${op} n=${n}`);
    });
  }
}

Deno.test('elementwise vec4 variant: the grid-stride loop covers n beyond the dispatched threads', async () => {
  const n = 5000;
  const a = randomF32(n, 13, 0.5, 2);
  const b = randomF32(n, 14, 0.5, 2);
  assertClose(await gpuElementwise('mul', a, b, 1, 0, [1, 1, 1], 4), elementwiseReference('mul', a, b), 1e-4);
  if (elementwiseDispatch(4096, 4).join() !== '4,1,1') throw new Error(`Expected 4 workgroups for 1024 vec4s, got ${elementwiseDispatch(4096, 4).join()}`);
  let threw = false;
  try { elementwiseVec4Source('fn main() {}'); } catch (e) { threw = e instanceof TypeError; }
  if (!threw) throw new Error('Expected a TypeError for a source without the element-type alias');
});

Deno.test('elementwise.wgsl grid-stride loop covers n beyond the dispatched threads', async () => {
  // Dispatch only 2 workgroups (512 threads) for 5000 elements: every element must still be written.
  const n = 5000;
  const a = randomF32(n, 9, 0.5, 2);
  const b = randomF32(n, 10, 0.5, 2);
  const y = await gpuElementwise('mul', a, b, 1, 0, [2, 1, 1]);
  assertClose(y, elementwiseReference('mul', a, b), 1e-4);
});

Deno.test('elementwiseDispatch() spills past 65535 workgroups into y for > 65535*256 elements', () => {
  const n = 65535 * ELEMENTWISE_WORKGROUP * 3 + 1;
  const [x, y, z] = elementwiseDispatch(n);
  if (x !== 65535 || y !== 4 || z !== 1) throw new Error(`Expected [65535,4,1], got ${[x, y, z].join()}`);
  if (x * y * ELEMENTWISE_WORKGROUP < n) throw new Error('Dispatch does not cover n');
});

Deno.test('elementwise.wgsl is correct with a 2D dispatch (rows of workgroups in y)', async () => {
  // 3 x 2 workgroups = 1536 threads for 1500 elements exercises the wid.y * nwg.x indexing.
  const n = 1500;
  const a = randomF32(n, 11);
  const b = randomF32(n, 12);
  const y = await gpuElementwise('add', a, b, 1, 0, [3, 2, 1]);
  assertClose(y, elementwiseReference('add', a, b), 1e-4);
});
