// Tiled f32 matmul: C[M,N] = A[M,K] x B[K,N], all row-major.
// One workgroup computes a 64x64 block of C with 16x16 threads, each owning a 4x4 sub-block held in
// four named vec4 accumulators (a dynamically indexed local array spills to memory on real GPUs).
// K is walked in slices of 16 staged through workgroup memory (2 x 4 KiB, well under 32 KiB).
// Dispatch: (ceil(N/64), ceil(M/64), 1); out-of-range loads read 0 and out-of-range stores are skipped,
// so any M, N, K >= 1 works.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;

// As holds the A slice transposed: As[k * 16 + r] = A rows 4r..4r+3 at column k, so one vec4 read
// gives a thread the four A values of its rows. Bs[k * 16 + c] = B row k, columns 4c..4c+3.
var<workgroup> As: array<vec4<f32>, 256>;
var<workgroup> Bs: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  let tx = lid.x;
  let ty = lid.y;
  let t = ty * 16u + tx;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  // Load mapping: consecutive threads read consecutive addresses of one row in global memory.
  let aK = t % TK;       // column of the A slice this thread loads
  let aR = t / TK;       // first of its rows (0..15), then +16, +32, +48
  let bC = t % TILE;     // column of the B slice this thread loads
  let bK = t / TILE;     // first of its rows (0..3), then +4, +8, +12

  let kTiles = (K + TK - 1u) / TK;
  for (var kt = 0u; kt < kTiles; kt++) {
    let k0 = kt * TK;
    for (var j = 0u; j < 4u; j++) {
      let r = aR + j * 16u;
      let gr = row0 + r;
      let gk = k0 + aK;
      var v = 0.0;
      if (gr < M && gk < K) {
        v = A[gr * K + gk];
      }
      As[aK * 16u + r / 4u][r % 4u] = v;
    }
    for (var j = 0u; j < 4u; j++) {
      let k = bK + j * 4u;
      let gk = k0 + k;
      let gc = col0 + bC;
      var v = 0.0;
      if (gk < K && gc < N) {
        v = B[gk * N + gc];
      }
      Bs[k * 16u + bC / 4u][bC % 4u] = v;
    }
    workgroupBarrier();

    for (var k = 0u; k < TK; k++) {
      let a = As[k * 16u + ty];
      let b = Bs[k * 16u + tx];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }

  let r = row0 + ty * 4u;
  let c = col0 + tx * 4u;
  store_row(r, c, acc0, M, N);
  store_row(r + 1u, c, acc1, M, N);
  store_row(r + 2u, c, acc2, M, N);
  store_row(r + 3u, c, acc3, M, N);
}

fn store_row(r: u32, c: u32, v: vec4<f32>, M: u32, N: u32) {
  if (r >= M) {
    return;
  }
  let base = r * N + c;
  if (c < N) { C[base] = v.x; }
  if (c + 1u < N) { C[base + 1u] = v.y; }
  if (c + 2u < N) { C[base + 2u] = v.z; }
  if (c + 3u < N) { C[base + 3u] = v.w; }
}
