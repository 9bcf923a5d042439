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

/**
 * Row-wise op over a row-major [rows, cols] matrix in f64, plus per row the scale of an f32 result's rounding
 * error: sum of |x| for 'sum' (the bound of any summation order), |max| for 'max' (which is exact).
 */
export function reduceReference(
  op: 'sum' | 'max',
  x: ArrayLike<number>,
  rows: number,
  cols: number,
): { y: Float64Array; scale: Float64Array } {
  const y = new Float64Array(rows);
  const scale = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    let acc = op === 'sum' ? 0 : -Infinity;
    let abs = 0;
    for (let c = 0; c < cols; c++) {
      const v = x[row + c]!;
      acc = op === 'sum' ? acc + v : Math.max(acc, v);
      abs += Math.abs(v);
    }
    y[r] = acc;
    scale[r] = op === 'sum' ? abs : Math.abs(acc);
  }
  return { y, scale };
}

/** Softmax over each row of a row-major [rows, cols] matrix in f64 (max-subtracted). */
export function softmaxReference(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, x[row + c]!);
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(x[row + c]! - max);
      y[row + c] = e;
      sum += e;
    }
    for (let c = 0; c < cols; c++) y[row + c] = y[row + c]! / sum;
  }
  return y;
}

/**
 * Layer norm over the last axis of a row-major [rows, cols] matrix in f64 (population variance), plus per
 * element the scale of an f32 result's rounding error: |gamma| * (|x - mean| + max|x| of the row) / std + |beta|.
 * f32 work on a row rounds at the size of its largest element (the mean, the deviations), and dividing by
 * std magnifies that: a row of 1000 + noise has an honest error far above one of noise alone.
 */
export function layerNormReference(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  rows: number,
  cols: number,
  eps: number,
): { y: Float64Array; scale: Float64Array } {
  const y = new Float64Array(rows * cols);
  const scale = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    let sum = 0;
    let maxAbs = 0;
    for (let c = 0; c < cols; c++) {
      sum += x[row + c]!;
      maxAbs = Math.max(maxAbs, Math.abs(x[row + c]!));
    }
    const mean = sum / cols;
    let sq = 0;
    for (let c = 0; c < cols; c++) sq += (x[row + c]! - mean) ** 2;
    const inv = 1 / Math.sqrt(sq / cols + eps);
    for (let c = 0; c < cols; c++) {
      const d = x[row + c]! - mean;
      y[row + c] = d * inv * gamma[c]! + beta[c]!;
      scale[row + c] = Math.abs(gamma[c]!) * (Math.abs(d) + maxAbs) * inv + Math.abs(beta[c]!);
    }
  }
  return { y, scale };
}
