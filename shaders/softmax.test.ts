/// <reference lib="deno.webgpu" />
import { planRowChunks } from './chunks.ts';
import { rowLimits } from './rows.ts';
import { softmaxDispatch, softmaxParams, softmaxUsesVec4, softmaxVec4Source } from './softmax.ts';
import { assertClose, expectError, randomF32, runKernel, testDevice } from './testing/harness.ts';
import { runChunked, storage } from './testing/chunked.ts';
import { softmaxReference } from './testing/reference.ts';

const source = await Deno.readTextFile(new URL('./softmax.wgsl', import.meta.url));
// The harness takes no pipeline constants: the WG=256 variant sets the override's default in the source.
const source256 = source.replace('override WG: u32 = 64u;', 'override WG: u32 = 256u;');
const limits = rowLimits((await testDevice()).limits);

// Tolerance, relative to each output (all are > 0): WGSL's exp is accurate to 3 + 2|x| ULP, |x| <= 16 for
// inputs in [-8, 8), so at most 35 ULP = 4e-6; the row sum of positive terms is off by at most its chain of
// additions (ceil(4099/64) + 6 = 71) * 2^-24 = 4e-6; the reciprocal and product add 2 ULP. 2e-5 covers the
// sum of worst cases; a wrong max or a missed element shows as an error of order 1/cols or more.
const REL = 2e-5;

async function gpuSoftmax(
  x: Float32Array, rows: number, cols: number,
  dispatch = softmaxDispatch(rows, cols, limits), workgroup = 64,
): Promise<Float32Array> {
  const out = await runKernel({
    source: workgroup === 256 ? source256 : source,
    bindings: [
      { binding: 0, kind: 'input', data: x },
      { binding: 1, kind: 'uniform', data: softmaxParams(rows, cols, { workgroup }) },
      { binding: 2, kind: 'output', bytes: rows * cols * 4 },
    ],
    dispatch,
  });
  return new Float32Array(out.get(2)!);
}

Deno.test('softmax.wgsl matches an f64 reference for cols 1..4099, rows 1 and 7, and packed short rows', async () => {
  const shapes: [number, number][] = [];
  for (const cols of [1, 3, 63, 64, 65, 255, 257, 1000, 4099]) for (const rows of [1, 7]) shapes.push([rows, cols]);
  shapes.push([1000, 3], [301, 17], [129, 2], [33, 40]);
  for (const [rows, cols] of shapes) {
    const x = randomF32(rows * cols, rows * 17 + cols, -8, 8);
    assertClose(await gpuSoftmax(x, rows, cols), softmaxReference(x, rows, cols), REL, undefined, `[${rows}, ${cols}]`);
  }
});

Deno.test('softmax.wgsl is stable for rows offset by +-1000 and keeps -Infinity entries at exactly 0', async () => {
  // exp(1000) overflows f32: only the max-subtracted form gets these rows right.
  const rows = 6, cols = 300;
  const x = randomF32(rows * cols, 3, -4, 4);
  for (let c = 0; c < cols; c++) {
    x[c] = x[c]! + 1000;
    x[cols + c] = x[cols + c]! - 1000;
    if (c % 3 === 0) x[2 * cols + c] = -Infinity; // a masked-attention row
  }
  x[3 * cols + 250] = 40; // one dominant element late in the row: the running max must rescale the sum
  const y = await gpuSoftmax(x, rows, cols);
  assertClose(y, softmaxReference(x, rows, cols), REL, undefined, 'offset rows');
  for (let c = 0; c < cols; c += 3) if (y[2 * cols + c] !== 0) throw new Error(`Expected 0 at masked column ${c}, got ${y[2 * cols + c]}`);
});

Deno.test('softmax.wgsl at workgroup width 256 (pipeline constant) matches the reference, packed and looped', async () => {
  for (const [rows, cols] of [[7, 1], [300, 5], [9, 200], [3, 257], [2, 4099]] as const) {
    const x = randomF32(rows * cols, rows * 5 + cols, -8, 8);
    const y = await gpuSoftmax(x, rows, cols, softmaxDispatch(rows, cols, limits, 256), 256);
    assertClose(y, softmaxReference(x, rows, cols), REL, undefined, `WG 256 [${rows}, ${cols}]`);
  }
});

Deno.test('softmax.wgsl covers 70000 rows on a 2D grid and under a small workgroups-per-dimension limit', async () => {
  const rows = 70_000, cols = 64;
  const dispatch = softmaxDispatch(rows, cols, limits);
  if (dispatch.join() !== '65535,2,1') throw new Error(`Expected [65535,2,1], got ${dispatch.join()}`);
  const x = randomF32(rows * cols, 71, -8, 8);
  assertClose(await gpuSoftmax(x, rows, cols, dispatch), softmaxReference(x, rows, cols), REL, undefined, '[70000, 64]');

  const small = { ...limits, maxComputeWorkgroupsPerDimension: 11 };
  for (const [r, c] of [[101, 300], [700, 5]] as const) {
    const xs = randomF32(r * c, r + c, -8, 8);
    const d = softmaxDispatch(r, c, small);
    assertClose(await gpuSoftmax(xs, r, c, d), softmaxReference(xs, r, c), REL, undefined, `[${r}, ${c}] on ${d.join('x')}`);
  }
});

Deno.test('softmaxParams() refuses bad shapes with the offending value', () => {
  for (const [fn, text] of [
    [() => softmaxParams(0, 4), "'rows' must be an integer 1..2^32-1: current value is 0"],
    [() => softmaxParams(2, 1.5), "'cols' must be an integer 1..2^32-1: current value is 1.5"],
    [() => softmaxParams(2, 4, { base: -1 }), "'base' must be an integer 0..2^32-1: current value is -1"],
    [() => softmaxParams(65536, 65536, { base: 1 }), 'base + rows * cols must be at most 2^32 (split the rows with chunks.ts): current value is 4294967297'],
  ] as const) expectError(fn, text, RangeError);
});

// The vec4 variant (softmax.ts `softmaxVec4Source`): x and y as array<vec4<f32>>, rows cols / 4 vec4s long.
const sourceVec4 = softmaxVec4Source(source);
const sourceVec4At256 = softmaxVec4Source(source256);

async function gpuSoftmaxVec4(x: Float32Array, rows: number, cols: number, workgroup = 64, lim = limits): Promise<Float32Array> {
  if (!softmaxUsesVec4(cols)) throw new Error(`Expected cols ${cols} to take the vec4 variant`);
  const out = await runKernel({
    source: workgroup === 256 ? sourceVec4At256 : sourceVec4,
    bindings: [
      { binding: 0, kind: 'input', data: x },
      { binding: 1, kind: 'uniform', data: softmaxParams(rows, cols, { workgroup, width: 4 }) },
      { binding: 2, kind: 'output', bytes: rows * cols * 4 },
    ],
    dispatch: softmaxDispatch(rows, cols, lim, workgroup, 4),
  });
  return new Float32Array(out.get(2)!);
}

Deno.test('softmax.wgsl vec4 variant matches an f64 reference for cols 4..4100, rows 1 and 7, packed and at WG 256', async () => {
  const shapes: [number, number][] = [];
  for (const cols of [4, 8, 260, 1000, 4100]) for (const rows of [1, 7]) shapes.push([rows, cols]);
  shapes.push([1000, 4], [301, 20], [33, 40]);
  for (const [rows, cols] of shapes) {
    const x = randomF32(rows * cols, rows * 13 + cols, -8, 8);
    assertClose(await gpuSoftmaxVec4(x, rows, cols), softmaxReference(x, rows, cols), REL, undefined, `vec4 [${rows}, ${cols}]`);
  }
  for (const [rows, cols] of [[300, 4], [9, 200], [2, 4100]] as const) {
    const x = randomF32(rows * cols, rows * 7 + cols, -8, 8);
    assertClose(await gpuSoftmaxVec4(x, rows, cols, 256), softmaxReference(x, rows, cols), REL, undefined, `vec4 WG 256 [${rows}, ${cols}]`);
  }
  const small = { ...limits, maxComputeWorkgroupsPerDimension: 11 };
  const x = randomF32(101 * 300, 5, -8, 8);
  assertClose(await gpuSoftmaxVec4(x, 101, 300, 64, small), softmaxReference(x, 101, 300), REL, undefined, 'vec4 [101, 300] on a small grid');
});

Deno.test('softmax.wgsl vec4 variant is stable at +-1000 and keeps -Infinity at exactly 0, whole vec4s masked too', async () => {
  const rows = 6, cols = 520;
  const x = randomF32(rows * cols, 4, -4, 4);
  for (let c = 0; c < cols; c++) {
    x[c] = x[c]! + 1000;
    x[cols + c] = x[cols + c]! - 1000;
    if (c % 3 === 0) x[2 * cols + c] = -Infinity; // masked entries scattered over the vec4s
    if (c >= 8) x[4 * cols + c] = -Infinity; // a causal-style row: whole threads see nothing but -Infinity
    if (c % 8 >= 4) x[5 * cols + c] = -Infinity; // every other vec4 fully masked
  }
  x[3 * cols + 450] = 40; // one dominant element late in the row: the running max must rescale the sum
  const y = await gpuSoftmaxVec4(x, rows, cols);
  assertClose(y, softmaxReference(x, rows, cols), REL, undefined, 'vec4 offset and masked rows');
  for (let i = 0; i < y.length; i++) {
    if (x[i] === -Infinity && y[i] !== 0) throw new Error(`Expected 0 at masked index ${i}, got ${y[i]}`);
  }
});

Deno.test('softmax.wgsl vec4 variant over chunks bound as buffer sub-ranges (16-byte-aligned bases) matches the reference', async () => {
  const SMALL = { maxStorageBufferBindingSize: 65536, minStorageBufferOffsetAlignment: 256 };
  // 8016- and 16400-byte rows start most chunks off the 256-byte grid (bases 32 and 12 floats: still vec4s).
  for (const [rows, cols, offGrid] of [[50, 2004, true], [13, 4100, true], [9000, 4, false]] as const) {
    const x = randomF32(rows * cols, rows + cols, -8, 8);
    const chunks = planRowChunks(rows, [cols * 4, cols * 4], SMALL);
    if (chunks.length < 3 || chunks.some((c) => c.windows[0]!.base > 0) !== offGrid) throw new Error(`Expected several chunks for [${rows}, ${cols}], off the grid: ${offGrid}`);
    if (!chunks.every((c) => softmaxUsesVec4(cols, c.windows[0]!.base))) throw new Error(`Expected every chunk of [${rows}, ${cols}] on the vec4 variant`);
    const y = await runChunked({
      source: sourceVec4,
      chunks,
      rowBuffers: [{ binding: 0, buffer: storage(x) }, { binding: 2, buffer: storage(x.byteLength, GPUBufferUsage.COPY_SRC) }],
      uniformBinding: 1,
      params: (c) => softmaxParams(c.rows, cols, { base: c.windows[0]!.base, width: 4 }),
      dispatch: (c) => softmaxDispatch(c.rows, cols, limits, 64, 4),
    });
    assertClose(y, softmaxReference(x, rows, cols), REL, undefined, `vec4 chunked [${rows}, ${cols}] in ${chunks.length} chunks`);
  }
});

Deno.test('softmaxUsesVec4() and the width-4 params refuse shapes and bases off the vec4 grid', () => {
  const cases: [boolean, boolean][] = [
    [softmaxUsesVec4(4), true], [softmaxUsesVec4(1000, 256), true], [softmaxUsesVec4(1001), false], [softmaxUsesVec4(1000, 2), false],
  ];
  cases.forEach(([got, want], i) => {
    if (got !== want) throw new Error(`Case ${i}: expected ${want}, got ${got}`);
  });
  if (!softmaxVec4Source(source).includes('array<T>') || !softmaxVec4Source(source).includes('alias T = vec4<f32>;')) throw new Error('Expected the vec4 source to bind vec4 arrays');
  const seg = new Uint32Array(softmaxParams(7, 1000, { width: 4 }))[2];
  if (seg !== 64) throw new Error(`Expected seg 64 for 250 vec4s, got ${seg}`);
  if (new Uint32Array(softmaxParams(7, 8, { width: 4 }))[2] !== 2) throw new Error('Expected seg 2 for 2 vec4s');
  for (const [fn, text] of [
    [() => softmaxParams(2, 6, { width: 4 }), "'cols' must be a multiple of 4 for the vec4 variant: current value is 6"],
    [() => softmaxParams(2, 8, { width: 4, base: 2 }), "'base' must be a multiple of 4 for the vec4 variant: current value is 2"],
    [() => softmaxDispatch(2, 6, limits, 64, 4), "'cols' must be a multiple of 4 for the vec4 variant: current value is 6"],
    [() => softmaxVec4Source('fn main() {}'), "lacks 'alias T = f32;'"],
  ] as const) expectError(fn, text);
});
