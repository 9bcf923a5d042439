/** CPU reference for checking the mesh's WGSL matmul: seeded inputs, a plain product, the error between them. */

/** A rows x cols row-major matrix of values in [-1, 1) from a seeded generator (same seed, same matrix). */
export function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`Cannot make a matrix as rows and cols must be positive integers: current value is ${rows}x${cols}`);
  }
  const out = new Float32Array(rows * cols);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    // xorshift32: enough mixing for test data, and identical in every JS engine.
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** C = A (m x k) * B (k x n), row-major, accumulated in f64 (the reference the GPU result is compared with). */
export function matmulReference(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  if (a.length !== m * k || b.length !== k * n) {
    throw new RangeError(`Cannot multiply as A must hold m*k and B k*n values: current value is A ${a.length}, B ${b.length} for ${m}x${k}x${n}`);
  }
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p] as number;
      const bo = p * n;
      // i-p-j order streams through B and C rows, several times faster than i-j-p in JS.
      for (let j = 0; j < n; j++) c[row + j] = (c[row + j] as number) + av * (b[bo + j] as number);
    }
  }
  return Float32Array.from(c);
}

/** Largest |x[i] - y[i]|; Infinity when the lengths differ or a value is not finite. */
export function maxAbsError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return Infinity;
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs((x[i] as number) - (y[i] as number));
    if (!Number.isFinite(d)) return Infinity;
    if (d > max) max = d;
  }
  return max;
}
