/// <reference lib="deno.webgpu" />
import { planRowChunks } from './chunks.ts';
import { layerNormDispatch, layerNormParams, layerNormUsesVec4, layerNormVec4Source } from './layernorm.ts';
import { rowLimits } from './rows.ts';
import { assertClose, expectError, randomF32, runKernel, testDevice } from './testing/harness.ts';
import { runChunked, storage } from './testing/chunked.ts';
import { layerNormReference } from './testing/reference.ts';

const source = await Deno.readTextFile(new URL('./layernorm.wgsl', import.meta.url));
// The harness takes no pipeline constants: the WG=256 variant sets the override's default in the source.
const source256 = source.replace('override WG: u32 = 64u;', 'override WG: u32 = 256u;');
const limits = rowLimits((await testDevice()).limits);
const EPS = 1e-5;

// Tolerance, against layerNormReference's scale |gamma| (|x - mean| + max|x|) / std + |beta|: the mean and the
// deviations are f32 values of the row's size, each rounding at about chain * 2^-24 * max|x| (Welford's update
// and Chan's merge, chain <= 71 + 6 at cols 4099), magnified by 1/std and gamma; the rsqrt (2 ULP), the
// products and the add of beta stay within a few ULP of the output's own size. 1e-5 is ~2x the worst case.
const REL = 1e-5;

async function gpuLayerNorm(
  x: Float32Array, gamma: Float32Array, beta: Float32Array, rows: number, cols: number,
  dispatch = layerNormDispatch(rows, cols, limits), workgroup = 64,
): Promise<Float32Array> {
  const out = await runKernel({
    source: workgroup === 256 ? source256 : source,
    bindings: [
      { binding: 0, kind: 'input', data: x },
      { binding: 1, kind: 'input', data: gamma },
      { binding: 2, kind: 'input', data: beta },
      { binding: 3, kind: 'uniform', data: layerNormParams(rows, cols, { eps: EPS, workgroup }) },
      { binding: 4, kind: 'output', bytes: rows * cols * 4 },
    ],
    dispatch,
  });
  return new Float32Array(out.get(4)!);
}

/** Random rows with a per-row offset in [-3, 3), so means are not ~0, and gamma/beta of both signs. */
function inputs(rows: number, cols: number, seed: number) {
  const x = randomF32(rows * cols, seed);
  const offsets = randomF32(rows, seed + 1, -3, 3);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) x[r * cols + c] = x[r * cols + c]! + offsets[r]!;
  return { x, gamma: randomF32(cols, seed + 2, -2, 2), beta: randomF32(cols, seed + 3) };
}

async function check(rows: number, cols: number, seed: number, dispatch?: [number, number, number], workgroup?: number): Promise<void> {
  const { x, gamma, beta } = inputs(rows, cols, seed);
  const y = await gpuLayerNorm(x, gamma, beta, rows, cols, dispatch, workgroup);
  const ref = layerNormReference(x, gamma, beta, rows, cols, EPS);
  assertClose(y, ref.y, REL, ref.scale, `[${rows}, ${cols}]${workgroup ? ` WG ${workgroup}` : ''}`);
}

Deno.test('layernorm.wgsl matches an f64 reference for cols 1..4099, rows 1 and 7, and packed short rows', async () => {
  const shapes: [number, number][] = [];
  for (const cols of [1, 2, 3, 63, 64, 65, 255, 257, 1000, 4099]) for (const rows of [1, 7]) shapes.push([rows, cols]);
  shapes.push([1000, 3], [301, 17], [129, 2], [33, 40]);
  for (const [rows, cols] of shapes) await check(rows, cols, rows * 31 + cols);
});

Deno.test('layernorm.wgsl keeps the variance of rows like 1000 + noise (no E[x^2] - E[x]^2 cancellation)', async () => {
  // E[x^2] ~ 1e6 in f32 carries an absolute error ~0.06 against a variance of 1/3: the naive formula would be
  // off by ~10% of the output; Welford plus Chan's merge stay near the f32 resolution of the mean (6e-5 / std).
  const rows = 4, cols = 2000;
  const x = randomF32(rows * cols, 9);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + 1000;
  const gamma = new Float32Array(cols).fill(1);
  const beta = new Float32Array(cols);
  const y = await gpuLayerNorm(x, gamma, beta, rows, cols);
  const ref = layerNormReference(x, gamma, beta, rows, cols, EPS);
  let worst = 0;
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - ref.y[i]!));
  if (!(worst < 1e-3)) throw new Error(`Expected |error| < 1e-3 on unit-variance outputs, got ${worst}`);
  assertClose(y, ref.y, REL, ref.scale, 'offset rows');
});

Deno.test('layernorm.wgsl gives beta for constant rows (variance 0, eps only)', async () => {
  const rows = 3, cols = 100;
  const x = new Float32Array(rows * cols).fill(2.5);
  const gamma = randomF32(cols, 1);
  const beta = randomF32(cols, 2);
  const y = await gpuLayerNorm(x, gamma, beta, rows, cols);
  for (let i = 0; i < y.length; i++) if (y[i] !== beta[i % cols]) throw new Error(`Expected beta at ${i}: ${beta[i % cols]}, got ${y[i]}`);
});

Deno.test('layernorm.wgsl at workgroup width 256 (pipeline constant) matches the reference, packed and looped', async () => {
  for (const [rows, cols] of [[7, 1], [300, 5], [9, 200], [3, 257], [2, 4099]] as const) {
    await check(rows, cols, rows + cols, layerNormDispatch(rows, cols, limits, 256), 256);
  }
});

Deno.test('layernorm.wgsl covers 70000 rows on a 2D grid and under a small workgroups-per-dimension limit', async () => {
  const dispatch = layerNormDispatch(70_000, 64, limits);
  if (dispatch.join() !== '65535,2,1') throw new Error(`Expected [65535,2,1], got ${dispatch.join()}`);
  await check(70_000, 64, 70, dispatch);
  const small = { ...limits, maxComputeWorkgroupsPerDimension: 11 };
  for (const [rows, cols] of [[101, 300], [700, 5]] as const) await check(rows, cols, rows, layerNormDispatch(rows, cols, small));
});

Deno.test('layerNormParams() writes eps as f32 after the u32 fields and refuses a negative eps', () => {
  const view = new DataView(layerNormParams(3, 1000, { eps: 1e-6, base: 12 }));
  const got = [view.getUint32(0, true), view.getUint32(4, true), view.getUint32(8, true), view.getUint32(12, true)].join();
  if (got !== '3,1000,64,12' || view.getFloat32(16, true) !== Math.fround(1e-6)) throw new Error(`Unexpected params: ${got}`);
  let message = '';
  try {
    layerNormParams(3, 4, { eps: -1 });
  } catch (e) {
    if (e instanceof RangeError) message = e.message;
  }
  if (!message.includes("'eps' must be a finite number >= 0: current value is -1")) throw new Error(`Unexpected error: '${message}'`);
});

// The vec4 variant (layernorm.ts `layerNormVec4Source`): x, gamma, beta and y as array<vec4<f32>>.
const sourceVec4 = layerNormVec4Source(source);
const sourceVec4At256 = layerNormVec4Source(source256);

async function gpuLayerNormVec4(
  x: Float32Array, gamma: Float32Array, beta: Float32Array, rows: number, cols: number, workgroup = 64, lim = limits,
): Promise<Float32Array> {
  if (!layerNormUsesVec4(cols)) throw new Error(`Expected cols ${cols} to take the vec4 variant`);
  const out = await runKernel({
    source: workgroup === 256 ? sourceVec4At256 : sourceVec4,
    bindings: [
      { binding: 0, kind: 'input', data: x },
      { binding: 1, kind: 'input', data: gamma },
      { binding: 2, kind: 'input', data: beta },
      { binding: 3, kind: 'uniform', data: layerNormParams(rows, cols, { eps: EPS, workgroup, width: 4 }) },
      { binding: 4, kind: 'output', bytes: rows * cols * 4 },
    ],
    dispatch: layerNormDispatch(rows, cols, lim, workgroup, 4),
  });
  return new Float32Array(out.get(4)!);
}

async function checkVec4(rows: number, cols: number, seed: number, workgroup = 64, lim = limits): Promise<void> {
  const { x, gamma, beta } = inputs(rows, cols, seed);
  const y = await gpuLayerNormVec4(x, gamma, beta, rows, cols, workgroup, lim);
  const ref = layerNormReference(x, gamma, beta, rows, cols, EPS);
  assertClose(y, ref.y, REL, ref.scale, `vec4 [${rows}, ${cols}] WG ${workgroup}`);
}

Deno.test('layernorm.wgsl vec4 variant matches an f64 reference for cols 4..4100, rows 1 and 7, packed and at WG 256', async () => {
  const shapes: [number, number][] = [];
  for (const cols of [4, 8, 260, 1000, 4100]) for (const rows of [1, 7]) shapes.push([rows, cols]);
  shapes.push([1000, 4], [301, 20], [33, 40]);
  for (const [rows, cols] of shapes) await checkVec4(rows, cols, rows * 29 + cols);
  for (const [rows, cols] of [[300, 4], [9, 200], [2, 4100]] as const) await checkVec4(rows, cols, rows + cols, 256);
  await checkVec4(101, 300, 101, 64, { ...limits, maxComputeWorkgroupsPerDimension: 11 });
});

Deno.test('layernorm.wgsl vec4 variant keeps the variance of 1000 + noise rows and gives beta for constant rows', async () => {
  const rows = 4, cols = 2000;
  const x = randomF32(rows * cols, 9);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! + 1000;
  const gamma = new Float32Array(cols).fill(1);
  const beta = new Float32Array(cols);
  const y = await gpuLayerNormVec4(x, gamma, beta, rows, cols);
  const ref = layerNormReference(x, gamma, beta, rows, cols, EPS);
  assertClose(y, ref.y, REL, ref.scale, 'vec4 offset rows');

  const flat = new Float32Array(3 * 100).fill(2.5);
  const g = randomF32(100, 1);
  const b = randomF32(100, 2);
  const z = await gpuLayerNormVec4(flat, g, b, 3, 100);
  for (let i = 0; i < z.length; i++) if (z[i] !== b[i % 100]) throw new Error(`Expected beta at ${i}: ${b[i % 100]}, got ${z[i]}`);
});

Deno.test('layernorm.wgsl vec4 variant over chunks bound as buffer sub-ranges (16-byte-aligned bases) matches the reference', async () => {
  const SMALL = { maxStorageBufferBindingSize: 65536, minStorageBufferOffsetAlignment: 256 };
  // 8016- and 16400-byte rows start most chunks off the 256-byte grid (bases 32 and 12 floats: still vec4s).
  for (const [rows, cols] of [[50, 2004], [13, 4100]] as const) {
    const { x, gamma, beta } = inputs(rows, cols, rows * 3 + cols);
    const chunks = planRowChunks(rows, [cols * 4, cols * 4], SMALL);
    if (chunks.length < 3 || !chunks.some((c) => c.windows[0]!.base > 0)) throw new Error(`Expected several offset chunks for [${rows}, ${cols}]`);
    if (!chunks.every((c) => layerNormUsesVec4(cols, c.windows[0]!.base))) throw new Error(`Expected every chunk of [${rows}, ${cols}] on the vec4 variant`);
    const y = await runChunked({
      source: sourceVec4,
      chunks,
      rowBuffers: [{ binding: 0, buffer: storage(x) }, { binding: 4, buffer: storage(x.byteLength, GPUBufferUsage.COPY_SRC) }],
      whole: [{ binding: 1, buffer: storage(gamma) }, { binding: 2, buffer: storage(beta) }],
      uniformBinding: 3,
      params: (c) => layerNormParams(c.rows, cols, { eps: EPS, base: c.windows[0]!.base, width: 4 }),
      dispatch: (c) => layerNormDispatch(c.rows, cols, limits, 64, 4),
    });
    const ref = layerNormReference(x, gamma, beta, rows, cols, EPS);
    assertClose(y, ref.y, REL, ref.scale, `vec4 chunked [${rows}, ${cols}] in ${chunks.length} chunks`);
  }
});

Deno.test('layerNormUsesVec4() and the width-4 params refuse shapes and bases off the vec4 grid', () => {
  if (!layerNormUsesVec4(1000) || layerNormUsesVec4(1002) || layerNormUsesVec4(1000, 6)) throw new Error('Unexpected layerNormUsesVec4');
  if (new DataView(layerNormParams(3, 1000, { width: 4 })).getUint32(8, true) !== 64) throw new Error('Expected seg 64 for 250 vec4s');
  if (new DataView(layerNormParams(3, 20, { width: 4 })).getUint32(8, true) !== 8) throw new Error('Expected seg 8 for 5 vec4s');
  for (const [fn, text] of [
    [() => layerNormParams(2, 6, { width: 4 }), "'cols' must be a multiple of 4 for the vec4 variant: current value is 6"],
    [() => layerNormParams(2, 8, { width: 4, base: 6 }), "'base' must be a multiple of 4 for the vec4 variant: current value is 6"],
    [() => layerNormDispatch(2, 10, limits, 64, 4), "'cols' must be a multiple of 4 for the vec4 variant: current value is 10"],
    [() => layerNormVec4Source('fn main() {}'), "lacks 'alias T = f32;'"],
  ] as const) expectError(fn, text);
});
