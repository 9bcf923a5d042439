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

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Workgroup width: a pipeline-overridable constant (rows.ts: a power of two, default 64), because the
// best width differs by adapter: CPU adapters (llvmpipe, SwiftShader) pay per barrier per invocation, so 64
// runs 10x faster there than 256, while a large GPU may want 256 threads on each long row.
override WG: u32 = 64u;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let seg = params.seg;
  let lane = lid % seg;
  let row = (wid.y * nwg.x + wid.x) * (WG / seg) + lid / seg;
  var len = 0u;
  if (row < params.rows) {
    len = min(params.cols, params.n - row * params.cols);
  }
  let first = params.in_base + row * params.cols;

  // Each thread folds its strided columns, starting from its first element (lanes >= len hold nothing).
  var acc = 0.0;
  if (lane < len) {
    acc = x[first + lane];
    if (params.op == 0u) {
      for (var c = lane + seg; c < len; c += seg) {
        acc += x[first + c];
      }
    } else {
      for (var c = lane + seg; c < len; c += seg) {
        acc = max(acc, x[first + c]);
      }
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
