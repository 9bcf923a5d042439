import { rowLimits } from './rows.ts';
import { softmaxDispatch, softmaxParams } from './softmax.ts';
import { assertClose, randomF32, runKernel, testDevice } from './testing/harness.ts';
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
  ] as const) {
    let message = '';
    try {
      fn();
    } catch (e) {
      if (e instanceof RangeError) message = e.message;
    }
    if (!message.includes(text)) throw new Error(`Expected a RangeError with '${text}', got '${message}'`);
  }
});
