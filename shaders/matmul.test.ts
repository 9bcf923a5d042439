import {
  checkMatmulConfig,
  MATMUL_CANDIDATES,
  matmulConfigFits,
  matmulConfigName,
  matmulDispatch,
  matmulParams,
  matmulUsesVec4,
  matmulWgsl,
  type MatmulConfig,
} from './matmul.ts';
import { assertClose, randomF32, runKernel } from './testing/harness.ts';
import { matmulReference } from './testing/reference.ts';

async function gpuMatmul(config: MatmulConfig, a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<Float32Array> {
  const out = await runKernel({
    source: matmulWgsl(config, matmulUsesVec4(k, n)),
    bindings: [
      { binding: 0, kind: 'input', data: a },
      { binding: 1, kind: 'input', data: b },
      { binding: 2, kind: 'uniform', data: matmulParams(m, n, k) },
      { binding: 3, kind: 'output', bytes: m * n * 4 },
    ],
    dispatch: matmulDispatch(m, n, config),
  });
  return new Float32Array(out.get(3)!);
}

// Scalar shapes (K or N not a multiple of 4), vec4 shapes, exact tile multiples and one-past edges.
const SHAPES = [[1, 1, 1], [17, 33, 9], [100, 70, 130], [65, 17, 63], [129, 36, 132], [128, 128, 128], [200, 96, 68]] as const;

for (const config of MATMUL_CANDIDATES) {
  Deno.test(`matmul ${matmulConfigName(config)} matches an f64 reference at awkward sizes (scalar and vec4 variants)`, async () => {
    for (const [m, k, n] of SHAPES) {
      const a = randomF32(m * k, m * 7 + k);
      const b = randomF32(k * n, n * 13 + k);
      const c = await gpuMatmul(config, a, b, m, k, n);
      const ref = matmulReference(a, b, m, k, n);
      assertClose(c, ref.c, 1e-4, ref.scale, `${matmulConfigName(config)} M=${m} K=${k} N=${n}`);
    }
  });
}

Deno.test('matmul at 512^3 (vec4, many workgroups) matches the reference with the default config', async () => {
  const m = 512, k = 512, n = 512;
  const a = randomF32(m * k, 1);
  const b = randomF32(k * n, 2);
  const ref = matmulReference(a, b, m, k, n);
  assertClose(await gpuMatmul(MATMUL_CANDIDATES[0]!, a, b, m, k, n), ref.c, 1e-4, ref.scale);
});

Deno.test('matmul leaves no stale values: a tall-thin product overwrites every element of C', async () => {
  // 130 x 3 x 1: one column, three 64-row blocks, K smaller than one K slice.
  const m = 130, k = 3, n = 1;
  const a = randomF32(m * k, 5, 0.5, 1);
  const b = randomF32(k * n, 6, 0.5, 1);
  const c = await gpuMatmul(MATMUL_CANDIDATES[0]!, a, b, m, k, n);
  const ref = matmulReference(a, b, m, k, n);
  for (const v of c) if (!(v > 0)) throw new Error(`Expected every element positive, got ${v}`);
  assertClose(c, ref.c, 1e-4, ref.scale);
});

Deno.test('matmulDispatch() covers C with BM x BN blocks as (ceil(N/BN), ceil(M/BM), 1)', () => {
  const d = matmulDispatch(130, 65, { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 });
  if (d.join() !== '2,3,1') throw new Error(`Expected 2,3,1, got ${d.join()}`);
  const e = matmulDispatch(130, 65, { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 });
  if (e.join() !== '1,2,1') throw new Error(`Expected 1,2,1, got ${e.join()}`);
  let threw = false;
  try { matmulDispatch(0, 4); } catch (e) { threw = e instanceof RangeError; }
  if (!threw) throw new Error('Expected RangeError for m = 0');
});

Deno.test('checkMatmulConfig() names the broken rule and the limit that a config exceeds', () => {
  const expectThrow = (c: MatmulConfig, text: string, limits?: Parameters<typeof checkMatmulConfig>[1]) => {
    try {
      checkMatmulConfig(c, limits);
    } catch (e) {
      if (!(e instanceof RangeError) || !e.message.includes(text)) throw new Error(`Expected RangeError with '${text}', got ${e}`, { cause: e });
      return;
    }
    throw new Error(`Expected ${matmulConfigName(c)} to be refused`);
  };
  expectThrow({ bm: 64, bn: 64, bk: 16, tm: 3, tn: 4 }, 'multiples of 4');
  expectThrow({ bm: 64, bn: 64, bk: 6, tm: 4, tn: 4 }, 'bk must be a multiple of 4');
  expectThrow({ bm: 0, bn: 64, bk: 8, tm: 4, tn: 4 }, "'bm'");
  const small = { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupStorageSize: 16384 };
  expectThrow({ bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 }, '256 invocations', small);
  expectThrow({ bm: 128, bn: 128, bk: 32, tm: 8, tn: 8 }, '32768 bytes of workgroup memory', { ...small, maxComputeInvocationsPerWorkgroup: 256 });
  if (!matmulConfigFits({ bm: 32, bn: 32, bk: 16, tm: 4, tn: 4 }, small)) throw new Error('Expected 32x32 to fit 128 invocations');
});

Deno.test('planMatmulBlocks() keeps one block when everything fits and splits rows, then columns, when not', async () => {
  const { planMatmulBlocks } = await import('./matmul.ts');
  const big = { maxBindingBytes: 1 << 30, maxComputeWorkgroupsPerDimension: 65535 };
  const one = planMatmulBlocks(300, 200, 60, big);
  if (one.length !== 1 || one[0]!.rows !== 300 || one[0]!.cols !== 60) throw new Error(`Expected one block, got ${JSON.stringify(one)}`);
  // A is 300x200 floats = 240 KB; a 64 KiB binding holds 16384 floats: 81 rows of A -> cut to 64 (BM of
  // 64x64); B (200x60 = 12000 floats) fits whole.
  const c64 = { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 };
  const byRows = planMatmulBlocks(300, 200, 60, { ...big, maxBindingBytes: 65536 }, c64);
  if (byRows.map((b) => b.rows).join() !== '64,64,64,64,44' || byRows.some((b) => b.cols !== 60)) throw new Error(`Unexpected row split ${JSON.stringify(byRows)}`);
  // B is 5000x300: a column of B is 5000 floats, so a 64 KiB binding holds 3 columns at a time, and 3 rows.
  const byCols = planMatmulBlocks(10, 5000, 7, { ...big, maxBindingBytes: 65536 }, c64);
  const cover = new Set<string>();
  for (const b of byCols) {
    if (b.cols * 5000 > 16384 || b.rows * 5000 > 16384) throw new Error(`Block too big ${JSON.stringify(b)}`);
    for (let r = b.row; r < b.row + b.rows; r++) for (let c = b.col; c < b.col + b.cols; c++) cover.add(`${r},${c}`);
  }
  if (cover.size !== 70) throw new Error(`Expected the blocks to cover all 70 elements of C, got ${cover.size}`);
  // The workgroup-count limit splits rows as well.
  const byGroups = planMatmulBlocks(1000, 4, 4, { ...big, maxComputeWorkgroupsPerDimension: 2 }, c64);
  if (byGroups.some((b) => b.rows > 128)) throw new Error(`Expected at most 2 workgroups of rows, got ${JSON.stringify(byGroups)}`);
  let threw = false;
  try { planMatmulBlocks(2, 20000, 2, { ...big, maxBindingBytes: 65536 }, c64); } catch (e) { threw = e instanceof RangeError && /one row of A/.test(e.message); }
  if (!threw) throw new Error('Expected a RangeError naming the row of A that cannot be bound');
});
