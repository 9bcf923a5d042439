// Row softmax y[r, c] = exp(x[r, c] - max_r) / sum_c' exp(x[r, c'] - max_r) over a row-major [rows, cols] f32
// matrix, numerically stable (every exp argument is <= 0, so nothing overflows whatever the inputs' size).
// Two reads of x instead of three: the first pass keeps, per thread, a running max m and the sum s of
// exp(x - m) over what it has seen, rescaling s when m grows ("online softmax", Milakov & Gimelshein 2018);
// the segment then merges (m, s) pairs in a tree; the second pass writes exp(x - m) * (1 / s).
// Layout as in reduce.wgsl and rows.ts: a segment of `seg` threads per row, short rows packed, long rows
// looped; lanes past a row's end hold nothing and are never read; the flat workgroup index
// wid.y * nwg.x + wid.x lets softmax.ts spill a large row count into y. `base` shifts x and y alike, for row
// ranges bound at an aligned offset below their start (chunks.ts).
// Element type T: f32 here; softmax.ts derives the vec4 variant (T = vec4<f32>, WIDTH = 4) for cols and base
// multiples of 4, where each invocation loads 4 consecutive floats per step (4x the bytes per load). params stay
// in floats; params.seg then counts threads per row of cols / 4 vec4s. A thread folds a whole vec4 into its
// running (max, sum) at once: the max grows to the vec4's largest entry, then the 4 exps are added.
// -Infinity entries add exactly 0 to a sum (`expFrom` below), also where a thread has seen nothing else, so a
// masked row keeps exact zeros at its masked columns whatever their layout over the threads.

struct Params {
  rows: u32,
  cols: u32,
  seg: u32,
  base: u32,
}

alias T = f32;
const WIDTH: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> y: array<T>;

// Largest entry of v (v itself for f32: vec4<f32>(v) splats a scalar and keeps a vec4).
fn largest(v: T) -> f32 {
  let w = vec4<f32>(v);
  return max(max(w.x, w.y), max(w.z, w.w));
}

// Sum of v's WIDTH entries.
fn total(v: T) -> f32 {
  let w = vec4<f32>(v);
  if (WIDTH == 1u) {
    return w.x;
  }
  return (w.x + w.y) + (w.z + w.w);
}

// exp(v - m) entry-wise, with -Infinity entries giving exactly 0 even when m is -Infinity too (where the
// plain form gives exp(NaN)). -3.4028235e38 is -FLT_MAX: only -Infinity lies below it.
fn expFrom(v: T, m: f32) -> T {
  return select(exp(v - T(m)), T(0.0), v < T(-3.4028234663852886e38));
}

// exp(m - top) for a merge, with m == top giving exactly 1 (also for -Infinity == -Infinity).
fn rescale(m: f32, top: f32) -> f32 {
  return select(exp(m - top), 1.0, m == top);
}

// Workgroup width: a pipeline-overridable constant (rows.ts: a power of two, default 64), because the
// best width differs by adapter: CPU adapters (llvmpipe, SwiftShader) pay per barrier per invocation, so 64
// runs 10x faster there than 256, while a large GPU may want 256 threads on each long row.
override WG: u32 = 64u;

var<workgroup> wmax: array<f32, WG>;
var<workgroup> wsum: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let seg = params.seg;
  let lane = lid % seg;
  let row = (wid.y * nwg.x + wid.x) * (WG / seg) + lid / seg;
  // Row length and start in T elements (cols and base are multiples of WIDTH).
  var len = 0u;
  if (row < params.rows) {
    len = params.cols / WIDTH;
  }
  let first = (params.base + row * params.cols) / WIDTH;

  // Pass 1: running (max, sum of exp(x - max)) over the thread's strided elements; one exp per float, plus
  // one rescale whenever the max grows.
  var m = 0.0;
  var s = 0.0;
  if (lane < len) {
    let v0 = x[first + lane];
    m = largest(v0);
    s = total(expFrom(v0, m));
    for (var c = lane + seg; c < len; c += seg) {
      let v = x[first + c];
      let top = largest(v);
      if (top > m) {
        s = s * exp(m - top);
        m = top;
      }
      s += total(expFrom(v, m));
    }
  }
  wmax[lid] = m;
  wsum[lid] = s;
  workgroupBarrier();

  // Merge the segment's pairs: (m1, s1) + (m2, s2) = (M, s1 exp(m1 - M) + s2 exp(m2 - M)), M = max(m1, m2).
  let live = min(seg, len);
  for (var h = seg / 2u; h > 0u; h = h / 2u) {
    if (lane < h && lane + h < live) {
      let m1 = wmax[lid];
      let m2 = wmax[lid + h];
      let top = max(m1, m2);
      wsum[lid] = wsum[lid] * rescale(m1, top) + wsum[lid + h] * rescale(m2, top);
      wmax[lid] = top;
    }
    workgroupBarrier();
  }

  // Pass 2: every lane of the segment reads the row's result from the segment's first entry.
  if (lane < len) {
    let head = lid - lane;
    let rowMax = wmax[head];
    let inv = 1.0 / wsum[head];
    for (var c = lane; c < len; c += seg) {
      y[first + c] = exp(x[first + c] - T(rowMax)) * inv;
    }
  }
}
