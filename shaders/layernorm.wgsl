// Layer normalisation over the last axis of a row-major [rows, cols] f32 matrix (ONNX LayerNormalization,
// axis -1): y[r, c] = (x[r, c] - mean_r) / sqrt(var_r + eps) * gamma[c] + beta[c], var the population variance.
// Mean and variance come from one read of the row without cancellation: each thread runs Welford's update over
// its strided columns (count n, mean, M2 = sum of squared deviations), and the segment merges the triples in a
// tree with Chan et al.'s formula. E[x^2] - E[x]^2 would lose every digit for rows like 1000 + noise.
// A second read of x writes y. Layout as in reduce.wgsl and rows.ts: a segment of `seg` threads per row,
// short rows packed, long rows looped; lanes past a row's end hold nothing and are never read, so counts are
// never 0 where they divide. The flat workgroup index wid.y * nwg.x + wid.x lets layernorm.ts spill a large
// row count into y. `base` shifts x and y alike, for row ranges bound at an aligned offset (chunks.ts).

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

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

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
  var len = 0u;
  if (row < params.rows) {
    len = cols;
  }
  let first = params.base + row * cols;

  // Welford over the thread's strided columns (counts are exact in f32 up to 2^24 columns).
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  for (var c = lane; c < len; c += seg) {
    let v = x[first + c];
    n += 1.0;
    let d = v - mean;
    mean += d / n;
    m2 += d * (v - mean);
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
      y[first + c] = (x[first + c] - rowMean) * inv * gamma[c] + beta[c];
    }
  }
}
