/**
 * Reference matmul kernels for bench/gpu/matmul.ts, to set our generated kernel (shaders/matmul.ts) against:
 * - `naive`: one output per thread, straight from global memory (what a first WGSL matmul looks like);
 * - `spill`: the blocking of a good kernel (128x128 block, BK 8, 8x8 outputs per thread) but with the
 *   accumulators in a dynamically indexed `array<f32, 64>`, which GPUs keep in local (spilled) memory.
 * Both use the project's matmul bindings (A, B, params {M,N,K,_pad}, C) and take any M, N, K.
 */

/** A reference kernel: WGSL with entry `main` and its workgroup grid for C[m,n]. */
export interface MatmulVariant {
  name: string;
  wgsl: string;
  dispatch(m: number, n: number): [number, number, number];
}

const HEADER = `struct Params { M: u32, N: u32, K: u32, _pad: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
`;

/** One output per thread in 16x16 workgroups; every operand read from global memory. */
export const NAIVE: MatmulVariant = {
  name: 'naive (1 output/thread)',
  wgsl: `${HEADER}
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.y;
  let col = gid.x;
  if (row >= params.M || col >= params.N) { return; }
  let K = params.K;
  let N = params.N;
  var sum = 0.0;
  for (var k = 0u; k < K; k++) {
    sum = fma(A[row * K + k], B[k * N + col], sum);
  }
  C[row * N + col] = sum;
}
`,
  dispatch: (m, n) => [Math.ceil(n / 16), Math.ceil(m / 16), 1],
};

/**
 * 128x128 blocks, K slices of 8 in workgroup memory, 16x16 threads each owning 8x8 outputs, with the 64
 * accumulators in `array<f32, 64>` indexed by loop counters: the layout that spills on real GPUs.
 */
export const SPILL: MatmulVariant = {
  name: 'array<f32,64> accumulators (spills)',
  wgsl: `${HEADER}
const BM = 128u;
const BN = 128u;
const BK = 8u;
const TM = 8u;
const TN = 8u;
var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let t = lid.y * 16u + lid.x;
  var acc: array<f32, 64>;
  var a: array<f32, 8>;
  var b: array<f32, 8>;
  for (var i = 0u; i < 64u; i++) { acc[i] = 0.0; }
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var j = 0u; j < 4u; j++) {
      let i = t + j * 256u;
      let r = i / BK;
      let kk = i % BK;
      var v = 0.0;
      if (row0 + r < M && k0 + kk < K) { v = A[(row0 + r) * K + k0 + kk]; }
      As[kk * BM + r] = v;
    }
    for (var j = 0u; j < 4u; j++) {
      let i = t + j * 256u;
      let kk = i / BN;
      let c = i % BN;
      var v = 0.0;
      if (k0 + kk < K && col0 + c < N) { v = B[(k0 + kk) * N + col0 + c]; }
      Bs[kk * BN + c] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      for (var i = 0u; i < TM; i++) { a[i] = As[kk * BM + lid.y * TM + i]; }
      for (var j = 0u; j < TN; j++) { b[j] = Bs[kk * BN + lid.x * TN + j]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let r = row0 + lid.y * TM + i;
    for (var j = 0u; j < TN; j++) {
      let c = col0 + lid.x * TN + j;
      if (r < M && c < N) { C[r * N + c] = acc[i * TN + j]; }
    }
  }
}
`,
  dispatch: (m, n) => [Math.ceil(n / 128), Math.ceil(m / 128), 1],
};
