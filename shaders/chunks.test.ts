/// <reference lib="deno.webgpu" />
import { planRowChunks, type RowChunk } from './chunks.ts';
import { layerNormDispatch, layerNormParams } from './layernorm.ts';
import { reduceDispatch, reduceParams } from './reduce.ts';
import { rowLimits } from './rows.ts';
import { softmaxDispatch, softmaxParams } from './softmax.ts';
import { runChunked, storage } from './testing/chunked.ts';
import { assertClose, expectError, randomF32, testDevice } from './testing/harness.ts';
import { layerNormReference, reduceReference, softmaxReference } from './testing/reference.ts';

const device = await testDevice();
const limits = rowLimits(device.limits);

/** Checks the plan's invariants: aligned offsets, windows within the limit, rows covered once, bases consistent. */
function checkPlan(chunks: RowChunk[], rows: number, rowBytes: number[], maxBinding: number, align: number): void {
  let next = 0;
  for (const chunk of chunks) {
    if (chunk.rowStart !== next || chunk.rows < 1) throw new Error(`Chunk at ${chunk.rowStart} does not continue at row ${next}`);
    chunk.windows.forEach((w, i) => {
      const rb = rowBytes[i]!;
      if (w.offset % align !== 0) throw new Error(`Offset ${w.offset} is not aligned to ${align}`);
      if (w.size > maxBinding || w.size % 4 !== 0) throw new Error(`Size ${w.size} breaks the limit ${maxBinding} or 4-byte granularity`);
      if (w.offset + w.base * 4 !== chunk.rowStart * rb) throw new Error(`Window ${i} starts at ${w.offset}+${w.base * 4}, not row ${chunk.rowStart}`);
      if (w.size !== w.base * 4 + chunk.rows * rb) throw new Error(`Window ${i} of size ${w.size} does not end at the chunk's last row`);
    });
    next += chunk.rows;
  }
  if (next !== rows) throw new Error(`Chunks cover ${next} rows, not ${rows}`);
}

Deno.test('planRowChunks() keeps a job that fits in one chunk at offset 0', () => {
  const chunks = planRowChunks(1000, [4000, 4000], { maxStorageBufferBindingSize: 4_000_000 });
  if (chunks.length !== 1 || chunks[0]!.windows.some((w) => w.offset !== 0 || w.base !== 0 || w.size !== 4_000_000)) {
    throw new Error(`Expected one whole chunk, got ${JSON.stringify(chunks)}`);
  }
});

Deno.test('planRowChunks() splits into aligned windows under the binding limit for many shapes', () => {
  let seed = 1;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  for (let trial = 0; trial < 500; trial++) {
    const align = [4, 32, 256, 1024][rand(4)]!;
    const rowBytes = Array.from({ length: 1 + rand(3) }, () => 4 * (1 + rand(3000)));
    const maxBinding = Math.max(...rowBytes) + align + rand(100_000);
    const rows = 1 + rand(2000);
    checkPlan(planRowChunks(rows, rowBytes, { maxStorageBufferBindingSize: maxBinding, minStorageBufferOffsetAlignment: align }), rows, rowBytes, maxBinding, align);
  }
});

Deno.test('planRowChunks() says which buffer and value break it when one row does not fit a binding', () => {
  const expectThrow = (fn: () => unknown, text: string) => expectError(fn, text, RangeError);
  expectThrow(() => planRowChunks(10, [4, 8192], { maxStorageBufferBindingSize: 4096 }),
    'one row of buffer 1 does not fit a binding of maxStorageBufferBindingSize 4096 bytes: current value is 8192 bytes');
  expectThrow(() => planRowChunks(10, [6], { maxStorageBufferBindingSize: 4096 }), "'rowBytes[0]' must be a positive multiple of 4: current value is 6");
  expectThrow(() => planRowChunks(10, [8], { maxStorageBufferBindingSize: 4096, minStorageBufferOffsetAlignment: 100 }), 'must be a power of two >= 4: current value is 100');
  // A row that fits only without the alignment slack before it: row 0 fits, row 1 starts 40 bytes past 256.
  expectThrow(() => planRowChunks(2, [296], { maxStorageBufferBindingSize: 300 }), 'row 1 does not fit a binding of 300 bytes once its offset is aligned down to 256');
});

// The binding limit is cut to 64 KiB so that a few hundred KiB of rows need several chunks; 4004- and
// 16396-byte rows put most chunk starts off the 256-byte grid, so the kernels' base params are exercised.
const SMALL = { maxStorageBufferBindingSize: 65536, minStorageBufferOffsetAlignment: 256 };

Deno.test('softmax over several chunks bound as buffer sub-ranges matches the whole-job reference', async () => {
  const source = await Deno.readTextFile(new URL('./softmax.wgsl', import.meta.url));
  for (const [rows, cols] of [[100, 1001], [13, 4099], [20_000, 3]] as const) {
    const x = randomF32(rows * cols, rows + cols, -8, 8);
    const chunks = planRowChunks(rows, [cols * 4, cols * 4], SMALL);
    if (chunks.length < 3 || !chunks.some((c) => c.windows[0]!.base > 0)) throw new Error(`Expected several misaligned chunks for [${rows}, ${cols}]`);
    const y = await runChunked({
      source,
      chunks,
      rowBuffers: [{ binding: 0, buffer: storage(x) }, { binding: 2, buffer: storage(x.byteLength, GPUBufferUsage.COPY_SRC) }],
      uniformBinding: 1,
      params: (c) => softmaxParams(c.rows, cols, { base: c.windows[0]!.base }),
      dispatch: (c) => softmaxDispatch(c.rows, cols, limits),
    });
    assertClose(y, softmaxReference(x, rows, cols), 2e-5, undefined, `chunked softmax [${rows}, ${cols}] in ${chunks.length} chunks`);
  }
});

Deno.test('row-wise sum over chunks (different row sizes in and out) matches the whole-job reference', async () => {
  const source = await Deno.readTextFile(new URL('./reduce.wgsl', import.meta.url));
  const rows = 300, cols = 1001;
  const x = randomF32(rows * cols, 4);
  const chunks = planRowChunks(rows, [cols * 4, 4], SMALL);
  if (chunks.length < 3) throw new Error(`Expected several chunks, got ${chunks.length}`);
  const y = await runChunked({
    source,
    chunks,
    rowBuffers: [{ binding: 0, buffer: storage(x) }, { binding: 2, buffer: storage(rows * 4, GPUBufferUsage.COPY_SRC) }],
    uniformBinding: 1,
    params: (c) => reduceParams(c.rows, cols, 'sum', { inBase: c.windows[0]!.base, outBase: c.windows[1]!.base }),
    dispatch: (c) => reduceDispatch(c.rows, cols, limits),
  });
  const ref = reduceReference('sum', x, rows, cols);
  assertClose(y, ref.y, 1e-5, ref.scale, `chunked sum in ${chunks.length} chunks`);
});

Deno.test('layer norm over chunks (gamma and beta bound whole) matches the whole-job reference', async () => {
  const source = await Deno.readTextFile(new URL('./layernorm.wgsl', import.meta.url));
  const rows = 60, cols = 1001;
  const x = randomF32(rows * cols, 5, -2, 3);
  const gamma = randomF32(cols, 6, -2, 2);
  const beta = randomF32(cols, 7);
  const chunks = planRowChunks(rows, [cols * 4, cols * 4], SMALL);
  if (chunks.length < 3) throw new Error(`Expected several chunks, got ${chunks.length}`);
  const y = await runChunked({
    source,
    chunks,
    rowBuffers: [{ binding: 0, buffer: storage(x) }, { binding: 4, buffer: storage(x.byteLength, GPUBufferUsage.COPY_SRC) }],
    whole: [{ binding: 1, buffer: storage(gamma) }, { binding: 2, buffer: storage(beta) }],
    uniformBinding: 3,
    params: (c) => layerNormParams(c.rows, cols, { base: c.windows[0]!.base }),
    dispatch: (c) => layerNormDispatch(c.rows, cols, limits),
  });
  const ref = layerNormReference(x, gamma, beta, rows, cols, 1e-5);
  assertClose(y, ref.y, 1e-5, ref.scale, `chunked layer norm in ${chunks.length} chunks`);
});
