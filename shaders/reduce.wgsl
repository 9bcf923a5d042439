// Row-wise reduction y[r] = op(x[r, 0..len_r)) of a row-major f32 matrix; op chosen by params.op:
//   0 sum    1 max
// Row r covers elements [r*cols, min((r+1)*cols, n)) of x, so the last row may be short: that lets the
// whole-array reduction of reduce.ts run as "rows of a chunk each" (partials) and then "one row of partials".
// Layout (see rows.ts): each row gets a segment of `seg` threads (a power of two, <= WG); short rows share a
// workgroup, long rows loop over their columns (thread `lane` takes columns lane, lane+seg, ...: neighbouring
// threads read neighbouring floats). Then a tree over the segment in workgroup memory, no subgroups needed.
// Lanes past the end of a row hold nothing and are never read, so no identity element is needed: -inf and
// NaN pass through max as the hardware's max gives them.
// The flat workgroup index wid.y * nwg.x + wid.x lets reduce.ts spill a large row count into y.
// in_base / out_base shift x and y, for row ranges bound at an aligned offset below their start (chunks.ts).
// Element type T of x: f32 here; reduce.ts derives the vec4 variant (T = vec4<f32>, WIDTH = 4) for cols, n and
// in_base multiples of 4, where each thread folds 4 consecutive floats per load entry-wise and folds its 4
// entries into one at the end. params stay in floats; params.seg then counts threads per row of cols / 4 vec4s.

struct Params {
  rows: u32,
  cols: u32,
  n: u32,
  op: u32,
  seg: u32,
  in_base: u32,
  out_base: u32,
  _pad: u32,
}

alias T = f32;
const WIDTH: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Workgroup width: a pipeline-overridable constant (rows.ts: a power of two, default 64), because the
// best width differs by adapter: CPU adapters (llvmpipe, SwiftShader) pay per barrier per invocation, so 64
// runs 10x faster there than 256, while a large GPU may want 256 threads on each long row.
override WG: u32 = 64u;

var<workgroup> partial: array<f32, WG>;

// Sum of v's WIDTH entries (vec4<f32>(v) splats a scalar and keeps a vec4).
fn total(v: T) -> f32 {
  let w = vec4<f32>(v);
  if (WIDTH == 1u) {
    return w.x;
  }
  return (w.x + w.y) + (w.z + w.w);
}

// Largest of v's entries.
fn largest(v: T) -> f32 {
  let w = vec4<f32>(v);
  return max(max(w.x, w.y), max(w.z, w.w));
}

@compute @workgroup_size(WG, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let seg = params.seg;
  let lane = lid % seg;
  let row = (wid.y * nwg.x + wid.x) * (WG / seg) + lid / seg;
  // Row length and start in T elements (cols, n and in_base are multiples of WIDTH).
  var len = 0u;
  if (row < params.rows) {
    len = min(params.cols, params.n - row * params.cols) / WIDTH;
  }
  let first = (params.in_base + row * params.cols) / WIDTH;

  // Each thread folds its strided elements, starting from its first one (lanes >= len hold nothing), then
  // its WIDTH entries into one.
  var acc = 0.0;
  if (lane < len) {
    var a = x[first + lane];
    if (params.op == 0u) {
      for (var c = lane + seg; c < len; c += seg) {
        a += x[first + c];
      }
      acc = total(a);
    } else {
      for (var c = lane + seg; c < len; c += seg) {
        a = max(a, x[first + c]);
      }
      acc = largest(a);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();

  // Tree over the segment: entry i is live iff i < min(seg, len), and stays so as the tree folds.
  let live = min(seg, len);
  for (var s = seg / 2u; s > 0u; s = s / 2u) {
    if (lane < s && lane + s < live) {
      let other = partial[lid + s];
      if (params.op == 0u) {
        partial[lid] = partial[lid] + other;
      } else {
        partial[lid] = max(partial[lid], other);
      }
    }
    workgroupBarrier();
  }
  if (lane == 0u && len > 0u) {
    y[params.out_base + row] = partial[lid];
  }
}
