import { planReduceAll, REDUCE_ALL_MAX_PARTIALS, reduceDispatch, reduceParams, type ReduceOp, reduceUsesVec4, reduceVec4Source } from './reduce.ts';
import { DEFAULT_ROW_LIMITS, rowDispatch, rowLimits, rowSegment, rowsPerWorkgroup } from './rows.ts';
import { assertClose, expectError, randomF32, runKernel, testDevice } from './testing/harness.ts';
import { reduceReference } from './testing/reference.ts';

const source = await Deno.readTextFile(new URL('./reduce.wgsl', import.meta.url));
const limits = rowLimits((await testDevice()).limits);
// The harness takes no pipeline constants: the WG=256 variant sets the override's default in the source.
const source256 = source.replace('override WG: u32 = 64u;', 'override WG: u32 = 256u;');

// Tolerance: an f32 sum in any order is off by at most (longest chain of additions) * 2^-24 * sum|x|. Here a
// chain is ceil(cols/64) serial adds plus 6 tree levels (about 71 at cols 4099; for the whole-array plan of 10M
// about 76 + 6 + 32 + 6): 120 * 6e-8 = 7e-6 as a worst case, random signs giving far less; so 1e-5 of sum|x|
// holds without hiding an indexing bug (a missed or doubled element costs ~1/cols of sum|x|, 2e-4 at cols
// 4099). Max is exact: tolerance 0.
const SUM_REL = 1e-5;

async function gpuReduce(
  op: ReduceOp, x: Float32Array, rows: number, cols: number,
  dispatch = reduceDispatch(rows, cols, limits), workgroup = 64,
): Promise<Float32Array> {
  const out = await runKernel({
    source: workgroup === 256 ? source256 : source,
    bindings: [
      { binding: 0, kind: 'input', data: x },
      { binding: 1, kind: 'uniform', data: reduceParams(rows, cols, op, { workgroup }) },
      { binding: 2, kind: 'output', bytes: rows * 4 },
    ],
    dispatch,
  });
  return new Float32Array(out.get(2)!);
}

function check(op: ReduceOp, y: Float32Array, x: Float32Array, rows: number, cols: number, label: string): void {
  const ref = reduceReference(op, x, rows, cols);
  assertClose(y, ref.y, op === 'sum' ? SUM_REL : 0, ref.scale, label);
}

for (const op of ['sum', 'max'] as const) {
  Deno.test(`reduce.wgsl row-wise '${op}' matches an f64 reference for cols 1..4099 and rows 1, 7, packed`, async () => {
    for (const cols of [1, 3, 255, 256, 257, 1000, 4099]) {
      for (const rows of [1, 7]) {
        const x = randomF32(rows * cols, rows * 131 + cols);
        check(op, await gpuReduce(op, x, rows, cols), x, rows, cols, `${op} [${rows}, ${cols}]`);
      }
    }
    // Short rows share a workgroup: 16 rows of 3, 2 rows of 17, and ragged last workgroups.
    for (const [rows, cols] of [[1000, 3], [301, 17], [129, 2], [33, 40]] as const) {
      const x = randomF32(rows * cols, rows + cols);
      check(op, await gpuReduce(op, x, rows, cols), x, rows, cols, `${op} [${rows}, ${cols}]`);
    }
  });
}

Deno.test('reduce.wgsl at workgroup width 256 (pipeline constant) matches the reference, packed and looped', async () => {
  for (const [rows, cols] of [[7, 1], [300, 5], [9, 200], [3, 257], [2, 4099]] as const) {
    const x = randomF32(rows * cols, rows * 5 + cols);
    for (const op of ['sum', 'max'] as const) {
      const y = await gpuReduce(op, x, rows, cols, reduceDispatch(rows, cols, limits, 256), 256);
      check(op, y, x, rows, cols, `WG 256 ${op} [${rows}, ${cols}]`);
    }
  }
});

Deno.test('reduce.wgsl covers 70000 rows on a 2D grid (65535 workgroups in x, the rest in y)', async () => {
  const rows = 70_000, cols = 64;
  const dispatch = reduceDispatch(rows, cols, limits);
  if (dispatch.join() !== '65535,2,1') throw new Error(`Expected [65535,2,1], got ${dispatch.join()}`);
  const x = randomF32(rows * cols, 70);
  check('sum', await gpuReduce('sum', x, rows, cols, dispatch), x, rows, cols, 'sum [70000, 64]');
});

Deno.test('reduce.wgsl recomputes rows from x and y under a small workgroups-per-dimension limit', async () => {
  // 11 workgroups per dimension: 101 rows of 300 take an 11 x 10 grid whose last 9 workgroups have no row.
  const small = { ...limits, maxComputeWorkgroupsPerDimension: 11 };
  if (reduceDispatch(101, 300, small).join() !== '11,10,1') throw new Error('Expected an 11 x 10 grid');
  for (const [rows, cols] of [[101, 300], [700, 5]] as const) {
    const x = randomF32(rows * cols, rows * 3 + cols);
    const dispatch = reduceDispatch(rows, cols, small);
    check('max', await gpuReduce('max', x, rows, cols, dispatch), x, rows, cols, `max [${rows}, ${cols}] on ${dispatch.join('x')}`);
  }
});

Deno.test('reduce.wgsl max keeps -Infinity (no identity element is mixed in)', async () => {
  const x = new Float32Array([-Infinity, -Infinity, -Infinity, 2, -Infinity, 5]);
  const y = await gpuReduce('max', x, 2, 3);
  if (y[0] !== -Infinity || y[1] !== 5) throw new Error(`Expected [-Infinity, 5], got [${Array.from(y).join(', ')}]`);
});

async function gpuReduceAll(op: ReduceOp, x: Float32Array): Promise<number> {
  const plan = planReduceAll(x.length, op, limits);
  let input: Float32Array = x;
  for (const pass of plan.passes) {
    const out = await runKernel({
      source,
      bindings: [
        { binding: 0, kind: 'input', data: input },
        { binding: 1, kind: 'uniform', data: pass.params },
        { binding: 2, kind: 'output', bytes: (pass.output === 'result' ? 1 : plan.partials) * 4 },
      ],
      dispatch: pass.dispatch,
    });
    input = new Float32Array(out.get(2)!);
  }
  return input[0]!;
}

for (const op of ['sum', 'max'] as const) {
  Deno.test(`whole-array '${op}' (partials, then final) matches an f64 reference from n=1 to 10M`, async () => {
    for (const n of [1, 4097, 1_000_003, 10_000_019]) {
      const x = randomF32(n, n, -1, 1.5); // a positive mean, so the sum does not hover near 0
      const ref = reduceReference(op, x, 1, n);
      assertClose([await gpuReduceAll(op, x)], ref.y, op === 'sum' ? SUM_REL : 0, ref.scale, `${op} n=${n}`);
    }
  });
}

Deno.test('planReduceAll() uses one pass up to a chunk, else at most 2048 partials and a final pass', () => {
  const one = planReduceAll(4096, 'sum', DEFAULT_ROW_LIMITS);
  if (one.passes.length !== 1 || one.partials !== 0) throw new Error(`Expected one pass, got ${one.passes.length}`);
  const two = planReduceAll(4097, 'sum', DEFAULT_ROW_LIMITS);
  if (two.passes.length !== 2 || two.partials !== 2 || two.passes[0]!.cols !== 4096) throw new Error('Expected 2 partials of 4096');
  const big = planReduceAll(2 ** 30, 'max', DEFAULT_ROW_LIMITS);
  const [p1, p2] = big.passes;
  if (big.partials > REDUCE_ALL_MAX_PARTIALS || p1!.rows * p1!.cols < 2 ** 30 || p2!.cols !== big.partials) {
    throw new Error(`Unexpected plan for 2^30: ${JSON.stringify({ partials: big.partials, p1: p1!.cols, p2: p2!.cols })}`);
  }
});

Deno.test('rowSegment() gives short rows the power of two that covers them, long rows the whole workgroup', () => {
  const got = [1, 2, 3, 17, 64, 65, 100_000].map((c) => rowSegment(c)).join();
  if (got !== '1,2,4,32,64,64,64') throw new Error(`Unexpected segments: ${got}`);
  const wide = [3, 128, 129, 256, 257].map((c) => rowSegment(c, 256)).join();
  if (wide !== '4,128,256,256,256') throw new Error(`Unexpected segments at width 256: ${wide}`);
  if (rowsPerWorkgroup(3) !== 16 || rowsPerWorkgroup(3, 256) !== 64) throw new Error('Expected 16 (64 at width 256) rows of 3 per workgroup');
});

Deno.test('rowDispatch() refuses workgroups the device cannot run and grids past limit^2, naming the value', () => {
  const expectThrow = (fn: () => unknown, text: string) => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof RangeError) || !e.message.includes(text)) throw new Error(`Expected RangeError with '${text}', got ${e}`, { cause: e });
      return;
    }
    throw new Error(`Expected a RangeError with '${text}'`);
  };
  expectThrow(() => rowDispatch('softmax', 10, 10, { ...DEFAULT_ROW_LIMITS, maxComputeInvocationsPerWorkgroup: 128 }, 256), "'maxComputeInvocationsPerWorkgroup' is 128");
  expectThrow(() => rowDispatch('softmax', 10, 10, { ...DEFAULT_ROW_LIMITS, maxComputeWorkgroupSizeX: 32 }), "'maxComputeWorkgroupSizeX' is 32");
  expectThrow(() => rowDispatch('softmax', 10, 10, DEFAULT_ROW_LIMITS, 96), "'workgroup' must be a power of two 1..1024: current value is 96");
  expectThrow(() => rowDispatch('reduce', 26, 1000, { ...DEFAULT_ROW_LIMITS, maxComputeWorkgroupsPerDimension: 5 }), 'more than 5^2');
  expectThrow(() => rowDispatch('reduce', 0, 4, DEFAULT_ROW_LIMITS), "'rows' must be an integer 1..2^32-1: current value is 0");
  expectThrow(() => reduceParams(3, 4, 'sum', { n: 8 }), "'n' must lie in ((rows-1)*cols, rows*cols] = (8, 12]: current value is 8");
  const [x, y] = rowDispatch('reduce', 25, 1000, { ...DEFAULT_ROW_LIMITS, maxComputeWorkgroupsPerDimension: 5 });
  if (x !== 5 || y !== 5) throw new Error(`Expected 5 x 5, got ${x} x ${y}`);
});

// The vec4 variant (reduce.ts `reduceVec4Source`): x as array<vec4<f32>>, y one f32 per row.
const sourceVec4 = reduceVec4Source(source);
const sourceVec4At256 = reduceVec4Source(source256);

/** Row-wise op over x[inBase..] as rows of cols (n floats, the last row possibly short) on the vec4 variant. */
async function gpuReduceVec4(
  op: ReduceOp, x: Float32Array, rows: number, cols: number, opts: { n?: number; inBase?: number; workgroup?: number } = {},
): Promise<Float32Array> {
  const { n = rows * cols, inBase = 0, workgroup = 64 } = opts;
  if (!reduceUsesVec4(cols, n, inBase)) throw new Error(`Expected cols ${cols}, n ${n}, inBase ${inBase} to take the vec4 variant`);
  const out = await runKernel({
    source: workgroup === 256 ? sourceVec4At256 : sourceVec4,
    bindings: [
      { binding: 0, kind: 'input', data: x },
      { binding: 1, kind: 'uniform', data: reduceParams(rows, cols, op, { n, inBase, workgroup, width: 4 }) },
      { binding: 2, kind: 'output', bytes: rows * 4 },
    ],
    dispatch: reduceDispatch(rows, cols, limits, workgroup, 4),
  });
  return new Float32Array(out.get(2)!);
}

Deno.test('reduce.wgsl vec4 variant matches the reference for cols 4..4100, rows 1 and 7, WG 256, a short last row and an offset', async () => {
  for (const op of ['sum', 'max'] as const) {
    for (const cols of [4, 8, 260, 1000, 4100]) {
      for (const rows of [1, 7]) {
        const x = randomF32(rows * cols, rows * 37 + cols);
        check(op, await gpuReduceVec4(op, x, rows, cols), x, rows, cols, `vec4 ${op} [${rows}, ${cols}]`);
      }
    }
    for (const [rows, cols] of [[1000, 4], [33, 40], [3, 260], [2, 4100]] as const) {
      const x = randomF32(rows * cols, rows + cols + 1);
      check(op, await gpuReduceVec4(op, x, rows, cols, { workgroup: 256 }), x, rows, cols, `vec4 WG 256 ${op} [${rows}, ${cols}]`);
    }
    // A short last row (n = 2.5 rows) read 12 floats past the binding start, as a chunk's base would put it.
    const rows = 3, cols = 1000, n = 2500, inBase = 12;
    const x = randomF32(inBase + n, 77);
    const y = await gpuReduceVec4(op, x, rows, cols, { n, inBase });
    const body = x.subarray(inBase);
    const ref = [0, 1, 2].map((r) => {
      const row = body.subarray(r * cols, Math.min((r + 1) * cols, n));
      return reduceReference(op, row, 1, row.length);
    });
    assertClose(y, Float32Array.from(ref, (r) => r.y[0]!), op === 'sum' ? SUM_REL : 0, ref.map((r) => r.scale[0]!), `vec4 ${op} short last row, inBase 12`);
  }
});

Deno.test('reduceUsesVec4() and the width-4 params refuse shapes and offsets off the vec4 grid', () => {
  if (!reduceUsesVec4(1000) || !reduceUsesVec4(1000, 2500, 12) || reduceUsesVec4(1000, 2502) || reduceUsesVec4(1002) || reduceUsesVec4(8, 8, 2)) {
    throw new Error('Unexpected reduceUsesVec4');
  }
  if (new Uint32Array(reduceParams(3, 1000, 'sum', { width: 4 }))[4] !== 64) throw new Error('Expected seg 64 for 250 vec4s');
  if (new Uint32Array(reduceParams(3, 12, 'max', { width: 4 }))[4] !== 4) throw new Error('Expected seg 4 for 3 vec4s');
  for (const [fn, text] of [
    [() => reduceParams(2, 6, 'sum', { width: 4 }), "'cols' must be a multiple of 4 for the vec4 variant: current value is 6"],
    [() => reduceParams(2, 8, 'sum', { width: 4, n: 14 }), "'n' must be a multiple of 4 for the vec4 variant: current value is 14"],
    [() => reduceParams(2, 8, 'sum', { width: 4, inBase: 2 }), "'inBase' must be a multiple of 4 for the vec4 variant: current value is 2"],
    [() => reduceDispatch(2, 6, limits, 64, 4), "'cols' must be a multiple of 4 for the vec4 variant: current value is 6"],
    [() => reduceVec4Source('fn main() {}'), "lacks 'alias T = f32;'"],
  ] as const) expectError(fn, text);
});
