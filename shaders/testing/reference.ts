/** f64 CPU references for the kernels in shaders/, shared by Deno tests and browser checks. */

/** C = A x B in f64 plus, per element, sum_k |A[i,k] * B[k,j]| (the scale of its rounding error). */
export function matmulReference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      const row = i * n;
      const brow = p * n;
      for (let j = 0; j < n; j++) {
        const t = av * b[brow + j]!;
        c[row + j] = c[row + j]! + t;
        scale[row + j] = scale[row + j]! + Math.abs(t);
      }
    }
  }
  return { c, scale };
}

/** y = op(a, b) in f64 for the element-wise kernel's ops. */
export function elementwiseReference(
  op: 'add' | 'mul' | 'relu' | 'affine',
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  alpha = 1,
  beta = 0,
): Float64Array {
  const y = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    switch (op) {
      case 'add': y[i] = x + b[i]!; break;
      case 'mul': y[i] = x * b[i]!; break;
      case 'relu': y[i] = Math.max(x, 0); break;
      case 'affine': y[i] = x * alpha + beta; break;
    }
  }
  return y;
}

/** n deterministic floats in [-1, 1) from a 32-bit LCG seeded with `seed`, for kernel checks and benchmarks. */
export function randomFloats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
