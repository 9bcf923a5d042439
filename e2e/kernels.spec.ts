// The WGSL kernels of shaders/ in real Chromium through raw WebGPU (SwiftShader here, a real GPU elsewhere),
// each against its f64 CPU reference. Drives e2e/pages/kernels.html. Sizes are small: SwiftShader compiles a
// pipeline in 0.3-1 s and runs at CPU speed; the Deno tests in shaders/ cover the large sizes on llvmpipe.
import { type Browser, type BrowserType, expect, type LaunchOptions, type Page, test } from '@playwright/test';
import { MATMUL_CANDIDATES, matmulConfigName } from '../shaders/matmul.ts';
import { openPeer } from './fixtures.ts';

// Tolerances, each relative to the scale the page divides by (shaders/*.test.ts justify them in full):
/** Row sums vs sum |x|: (ceil(cols/64) + 6) chained f32 adds at 2^-24 each stay under 1e-5. */
const SUM_REL = 1e-5;
/** Softmax vs each output: exp is within 3 + 2|x| ULP (|x| <= 16 here), the row sum within its add chain. */
const SOFTMAX_REL = 2e-5;
/** Layer norm vs |gamma| (|x - mean| + max|x|) / std + |beta|: rounding at the row's magnitude, magnified by 1/std. */
const LAYERNORM_REL = 1e-5;
/** Matmul vs sum_k |a_ik b_kj| and element-wise vs |y|: the tolerance e2e/compute.spec.ts uses. */
const REL = 1e-4;

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await openPeer(browser, '/e2e/pages/kernels.html');
  const info = await page.evaluate(() => window.kernelsTest.adapter());
  console.log(`kernels on ${info.description || info.architecture}`);
});

test.afterAll(async () => {
  if (page) expect(await page.evaluate(() => window.kernelsTest.uncaptured())).toEqual([]);
  await page?.context().close();
});

/** Asserts every entry of `errors` is within `tolerance`, naming the entry that is not. */
function expectWithin(errors: Record<string, number>, tolerance: number, count: number): void {
  expect(Object.keys(errors)).toHaveLength(count);
  for (const [key, err] of Object.entries(errors)) expect(err, key).toBeLessThanOrEqual(tolerance);
}

const SHAPES: [number, number][] = [[1, 1], [7, 3], [7, 255], [3, 257], [2, 1000], [2, 4099], [300, 5]];
const WIDE: [number, number][] = [[3, 257], [70, 3]];
const GRID: [number, number][] = [[101, 300], [700, 5]];

test('row-wise sum and max match the reference: awkward shapes, width 256, 2D grid under a small limit', async () => {
  const base = await page.evaluate((s) => window.kernelsTest.reduce(s), SHAPES);
  const wide = await page.evaluate((s) => window.kernelsTest.reduce(s, { workgroup: 256 }), WIDE);
  const grid = await page.evaluate((s) => window.kernelsTest.reduce(s, { maxWorkgroupsPerDim: 11 }), GRID);
  for (const errors of [base, wide, grid]) {
    for (const [key, err] of Object.entries(errors)) expect(err, key).toBeLessThanOrEqual(key.startsWith('max') ? 0 : SUM_REL);
  }
  expect(Object.keys(base)).toHaveLength(2 * SHAPES.length);
});

test('whole-array sum and max (partials, then final) match the reference', async () => {
  const errors = await page.evaluate(() => window.kernelsTest.reduceAll([3, 4097, 300_001]));
  for (const [key, err] of Object.entries(errors)) expect(err, key).toBeLessThanOrEqual(key.startsWith('max') ? 0 : SUM_REL);
  expect(Object.keys(errors)).toHaveLength(6);
});

test('softmax matches the reference: awkward shapes, width 256, 2D grid under a small limit', async () => {
  expectWithin(await page.evaluate((s) => window.kernelsTest.softmax(s), SHAPES), SOFTMAX_REL, SHAPES.length);
  expectWithin(await page.evaluate((s) => window.kernelsTest.softmax(s, { workgroup: 256 }), WIDE), SOFTMAX_REL, WIDE.length);
  expectWithin(await page.evaluate((s) => window.kernelsTest.softmax(s, { maxWorkgroupsPerDim: 11 }), GRID), SOFTMAX_REL, GRID.length);
});

test('softmax over 66000 rows spills its workgroups into y and matches the reference', async () => {
  // Width 16 and rows of 9: one row per workgroup, 66000 workgroups, at a third of the cost of width 64.
  expectWithin(await page.evaluate(() => window.kernelsTest.softmax([[66_000, 9]], { workgroup: 16 })), SOFTMAX_REL, 1);
});

test('layer norm matches the reference: awkward shapes, width 256, 2D grid under a small limit', async () => {
  expectWithin(await page.evaluate((s) => window.kernelsTest.layerNorm(s), SHAPES), LAYERNORM_REL, SHAPES.length);
  expectWithin(await page.evaluate((s) => window.kernelsTest.layerNorm(s, { workgroup: 256 }), WIDE), LAYERNORM_REL, WIDE.length);
  expectWithin(await page.evaluate((s) => window.kernelsTest.layerNorm(s, { maxWorkgroupsPerDim: 11 }), GRID), LAYERNORM_REL, GRID.length);
});

/** Shapes with cols a multiple of 4, for the row kernels' vec4 variants. */
const VEC4_SHAPES: [number, number][] = [[1, 4], [7, 260], [2, 1000], [1, 4100], [300, 8]];

test('the vec4 softmax variant matches the reference (cols a multiple of 4), width 256 and a small grid limit', async () => {
  expectWithin(await page.evaluate((s) => window.kernelsTest.softmax(s, { vec4: true }), VEC4_SHAPES), SOFTMAX_REL, VEC4_SHAPES.length);
  expectWithin(await page.evaluate(() => window.kernelsTest.softmax([[3, 260]], { vec4: true, workgroup: 256 })), SOFTMAX_REL, 1);
  expectWithin(await page.evaluate(() => window.kernelsTest.softmax([[101, 300]], { vec4: true, maxWorkgroupsPerDim: 11 })), SOFTMAX_REL, 1);
});

test('the vec4 layer-norm variant matches the reference (cols a multiple of 4), width 256 and a small grid limit', async () => {
  expectWithin(await page.evaluate((s) => window.kernelsTest.layerNorm(s, { vec4: true }), VEC4_SHAPES), LAYERNORM_REL, VEC4_SHAPES.length);
  expectWithin(await page.evaluate(() => window.kernelsTest.layerNorm([[3, 260]], { vec4: true, workgroup: 256 })), LAYERNORM_REL, 1);
  expectWithin(await page.evaluate(() => window.kernelsTest.layerNorm([[101, 300]], { vec4: true, maxWorkgroupsPerDim: 11 })), LAYERNORM_REL, 1);
});

test('the vec4 row-wise sum and max variant matches the reference (cols a multiple of 4), width 256 and a small grid limit', async () => {
  const base = await page.evaluate((s) => window.kernelsTest.reduce(s, { vec4: true }), VEC4_SHAPES);
  const wide = await page.evaluate(() => window.kernelsTest.reduce([[3, 260]], { vec4: true, workgroup: 256 }));
  const grid = await page.evaluate(() => window.kernelsTest.reduce([[101, 300]], { vec4: true, maxWorkgroupsPerDim: 11 }));
  for (const errors of [base, wide, grid]) {
    for (const [key, err] of Object.entries(errors)) expect(err, `vec4 ${key}`).toBeLessThanOrEqual(key.startsWith('max') ? 0 : SUM_REL);
  }
  expect(Object.keys(base)).toHaveLength(2 * VEC4_SHAPES.length);
});

test('softmax in row chunks bound at aligned sub-ranges (64 KiB binding limit) matches the whole-job reference', async () => {
  const r = await page.evaluate(() => window.kernelsTest.softmaxChunked(100, 1001, 65536));
  expect(r.chunks).toBeGreaterThanOrEqual(3);
  expect(r.misaligned).toBeGreaterThanOrEqual(1);
  expect(r.error).toBeLessThanOrEqual(SOFTMAX_REL);
});

test('every element-wise op matches the reference at awkward lengths', async () => {
  for (const n of [1, 257, 100_003]) {
    const r = await page.evaluate((len) => window.kernelsTest.elementwise(len), n);
    for (const op of ['add', 'mul', 'relu', 'affine'] as const) expect(r[op], `${op} n=${n}`).toBeLessThanOrEqual(REL);
  }
});

test('the vec4 element-wise variant matches the reference (n a multiple of 4)', async () => {
  for (const n of [4, 1028, 100_004]) {
    const r = await page.evaluate((len) => window.kernelsTest.elementwise(len, true), n);
    for (const op of ['add', 'mul', 'relu', 'affine'] as const) expect(r[op], `vec4 ${op} n=${n}`).toBeLessThanOrEqual(REL);
  }
});

/**
 * Compile budget per matmul variant. SwiftShader compiles these in 0.5-6 s; one that takes far longer fails
 * (a contributor would stall on it: the scalar 64x64x16/8x8 once took minutes, until its loads became loops).
 */
const COMPILE_BUDGET_MS = 30_000;

test.describe('matmul candidates', () => {
  // A browser of their own: a compile that overruns its budget keeps its GPU process busy, so it is dropped
  // and the next candidate starts a fresh one.
  let own: { browser: Browser; page: Page } | undefined;

  async function matmulPage(browserType: BrowserType, launchOptions: LaunchOptions, baseURL: string | undefined): Promise<Page> {
    if (!own) {
      const browser = await browserType.launch(launchOptions);
      const p = await browser.newPage(baseURL ? { baseURL } : {});
      p.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
      await p.goto('/e2e/pages/kernels.html');
      await expect(p.locator('body')).toHaveAttribute('data-ready', 'true');
      own = { browser, page: p };
    }
    return own.page;
  }

  test.afterAll(async () => {
    await own?.browser.close();
  });

  MATMUL_CANDIDATES.forEach((config, index) => {
    for (const variant of ['scalar', 'vec4'] as const) {
      test(`matmul ${matmulConfigName(config)} ${variant} matches the reference at awkward sizes`, async ({ playwright, launchOptions, baseURL }) => {
        const p = await matmulPage(playwright.chromium, launchOptions, baseURL);
        const r = await p.evaluate(([i, v, budget]) => window.kernelsTest.matmul(i, v, budget), [index, variant, COMPILE_BUDGET_MS] as const);
        test.skip(r.skipped, `${r.name} does not fit this adapter's limits`);
        if (r.compileTimedOut) {
          const adapter = await p.evaluate(() => window.kernelsTest.adapter());
          await own?.browser.close();
          own = undefined;
          const why = `${r.name} ${variant} did not compile within ${COMPILE_BUDGET_MS / 1000} s on ${adapter.architecture}`;
          throw new Error(why);
        }
        console.log(`matmul ${r.name} ${variant}: compiled in ${(r.compileMs / 1000).toFixed(1)} s`);
        expect(Object.keys(r.errors)).toHaveLength(variant === 'vec4' ? 2 : 3);
        for (const [shape, err] of Object.entries(r.errors)) expect(err, `${r.name} ${variant} ${shape}`).toBeLessThanOrEqual(REL);
      });
    }
  });
});
