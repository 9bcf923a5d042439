// Element-wise y[i] = op(a[i], b[i]) over n elements; op chosen at run time by params.op:
//   0 add: a + b    1 mul: a * b    2 relu: max(a, 0) (b unused)    3 affine: a * alpha + beta (b unused)
// Grid-stride loop over a 2D dispatch, so any n works: the dispatch rule in elementwise.ts caps x at
// 65535 workgroups and spills into y, and each invocation strides by the whole grid.
// Element type T: f32 here; elementwise.ts derives the vec4 variant (T = vec4<f32>, WIDTH = 4) for n a
// multiple of 4, which moves 4x the bytes per invocation (4x the bandwidth on llvmpipe).

struct Params {
  n: u32,
  op: u32,
  alpha: f32,
  beta: f32,
}

alias T = f32;
const WIDTH: u32 = 1u;

@group(0) @binding(0) var<storage, read> a: array<T>;
@group(0) @binding(1) var<storage, read> b: array<T>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

const WG: u32 = 256u;

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let n = params.n / WIDTH;
  let stride = nwg.x * nwg.y * WG;
  var i = (wid.y * nwg.x + wid.x) * WG + lid;
  // The op is uniform across the dispatch, so this switch does not diverge.
  loop {
    if (i >= n) {
      break;
    }
    let x = a[i];
    var v: T;
    switch params.op {
      case 0u: { v = x + b[i]; }
      case 1u: { v = x * b[i]; }
      case 2u: { v = max(x, T(0.0)); }
      default: { v = x * params.alpha + params.beta; }
    }
    y[i] = v;
    // Stop before i + stride wraps past 2^32 for n near the u32 limit.
    if (n - i <= stride) {
      break;
    }
    i += stride;
  }
}
