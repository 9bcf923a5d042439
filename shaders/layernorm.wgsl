// Layer normalisation over the last axis of a row-major [rows, cols] f32 matrix (ONNX LayerNormalization,
// axis -1): y[r, c] = (x[r, c] - mean_r) / sqrt(var_r + eps) * gamma[c] + beta[c], var the population variance.
// Mean and variance come from one read of the row without cancellation: each thread runs Welford's update over
// its strided columns (count n, mean, M2 = sum of squared deviations), and the segment merges the triples in a
// tree with Chan et al.'s formula. E[x^2] - E[x]^2 would lose every digit for rows like 1000 + noise.
// A second read of x writes y. Layout as in reduce.wgsl and rows.ts: a segment of `seg` threads per row,
// short rows packed, long rows looped; lanes past a row's end hold nothing and are never read, so counts are
// never 0 where they divide. The flat workgroup index wid.y * nwg.x + wid.x lets layernorm.ts spill a large
// row count into y. `base` shifts x and y alike, for row ranges bound at an aligned offset (chunks.ts).
// Element type T: f32 here; layernorm.ts derives the vec4 variant (T = vec4<f32>, WIDTH = 4) for cols and base
// multiples of 4, where each invocation loads 4 consecutive floats per step and runs Welford's update on the 4
// entries side by side, then folds its 4 equal-count (n, mean, M2) triples with Chan's merge before the
// segment's tree. params stay in floats; params.seg then counts threads per row of cols / 4 vec4s.

struct Params {
  rows: u32,
  cols: u32,
  seg: u32,
  base: u32,
  eps: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

alias T = f32;
const WIDTH: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> gamma: array<T>;
@group(0) @binding(2) var<storage, read> beta: array<T>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

// Workgroup width: a pipeline-overridable constant (rows.ts: a power of two, default 64), because the
// best width differs by adapter: CPU adapters (llvmpipe, SwiftShader) pay per barrier per invocation, so 64
// runs 10x faster there than 256, while a large GPU may want 256 threads on each long row.
override WG: u32 = 64u;

var<workgroup> wcount: array<f32, WG>;
var<workgroup> wmean: array<f32, WG>;
var<workgroup> wm2: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let seg = params.seg;
  let lane = lid % seg;
  let row = (wid.y * nwg.x + wid.x) * (WG / seg) + lid / seg;
  let cols = params.cols;
  // Row length and start in T elements (cols and base are multiples of WIDTH).
  var len = 0u;
  if (row < params.rows) {
    len = cols / WIDTH;
  }
  let first = (params.base + row * cols) / WIDTH;

  // Welford over the thread's strided elements, entry-wise (counts are exact in f32 up to 2^24 columns).
  var count = 0.0;
  var mu = T(0.0);
  var sq = T(0.0);
  for (var c = lane; c < len; c += seg) {
    let v = x[first + c];
    count += 1.0;
    let d = v - mu;
    mu += d / count;
    sq += d * (v - mu);
  }
  // One triple per thread: vec4<f32>() splats a scalar T, and the vec4 variant folds its 4 entries (each over
  // `count` floats) pairwise with Chan's merge at equal counts: mean (ma + mb) / 2, M2a + M2b + d^2 count / 2.
  let mus = vec4<f32>(mu);
  let sqs = vec4<f32>(sq);
  var n = count;
  var mean = mus.x;
  var m2 = sqs.x;
  if (WIDTH == 4u) {
    let d01 = mus.y - mus.x;
    let d23 = mus.w - mus.z;
    let mean01 = mus.x + d01 * 0.5;
    let mean23 = mus.z + d23 * 0.5;
    let halfCount = count * 0.5;
    let m201 = sqs.x + sqs.y + d01 * d01 * halfCount;
    let m223 = sqs.z + sqs.w + d23 * d23 * halfCount;
    let d = mean23 - mean01;
    n = count * 4.0;
    mean = mean01 + d * 0.5;
    m2 = m201 + m223 + d * d * count;
  }
  wcount[lid] = n;
  wmean[lid] = mean;
  wm2[lid] = m2;
  workgroupBarrier();

  // Chan's merge: n = na + nb, d = mb - ma, mean = ma + d nb / n, M2 = M2a + M2b + d^2 na nb / n.
  let live = min(seg, len);
  for (var h = seg / 2u; h > 0u; h = h / 2u) {
    if (lane < h && lane + h < live) {
      let na = wcount[lid];
      let nb = wcount[lid + h];
      let total = na + nb;
      let d = wmean[lid + h] - wmean[lid];
      let f = nb / total;
      wmean[lid] = wmean[lid] + d * f;
      wm2[lid] = wm2[lid] + wm2[lid + h] + d * d * na * f;
      wcount[lid] = total;
    }
    workgroupBarrier();
  }

  if (lane < len) {
    let head = lid - lane;
    let rowMean = wmean[head];
    let inv = inverseSqrt(wm2[head] / f32(cols) + params.eps);
    for (var c = lane; c < len; c += seg) {
      y[first + c] = (x[first + c] - T(rowMean)) * inv * gamma[c] + beta[c];
    }
  }
}
