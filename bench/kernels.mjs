// Kernel bandwidth: element-wise add, row softmax and layer norm in GB/s against the device's own copy rate
// (copyBufferToBuffer of the same bytes) measured in the same run, first in headless Chromium
// (bench/pages/kernels.html, SwiftShader), then in Deno (bench/kernels_deno.ts, llvmpipe), one after the
// other so they do not share cores. Env: MESHWORK_BENCH_KERNELS_N (floats per buffer, default 16M),
// MESHWORK_BENCH_KERNELS_COLS (row length, default 1024), MESHWORK_BENCH_KERNELS_WG (row-kernel workgroup
// width, default 64), MESHWORK_BENCH_KERNELS_BUDGET_MS (time for the measures of one runtime, default 8000; the
// Deno runner reads the same variables). A runtime that fails yields a row saying why instead of its numbers.
import { openPage, runDenoJson } from './lib.mjs';

const PAGE = '/bench/pages/kernels.html';

/** Options from the environment, for the page and (through its own env) the Deno runner. */
function options() {
  const opts = {};
  for (const [key, name] of [['n', 'MESHWORK_BENCH_KERNELS_N'], ['cols', 'MESHWORK_BENCH_KERNELS_COLS'], ['workgroup', 'MESHWORK_BENCH_KERNELS_WG'], ['budgetMs', 'MESHWORK_BENCH_KERNELS_BUDGET_MS']]) {
    const v = process.env[name];
    if (v === undefined) continue;
    const num = Number(v);
    if (!Number.isInteger(num) || num < 1) throw new RangeError(`Cannot run the kernels bench as ${name} must be a positive integer: current value is ${v}`);
    opts[key] = num;
  }
  return opts;
}

/** Rows for `npm run bench -- kernels`. */
export async function run({ browser, baseURL }) {
  const opts = options();
  const chromium = await runChromium(browser, baseURL, opts).catch((err) => ({ error: err.message }));
  const deno = await runDenoJson('bench/kernels_deno.ts').catch((err) => ({ error: err.message }));
  return [...rowsOf('chromium', chromium), ...rowsOf('deno', deno)];
}

async function runChromium(browser, baseURL, opts) {
  const page = await openPage(browser, baseURL, PAGE);
  try {
    return await page.evaluate((o) => window.benchKernels.run(o), opts);
  } finally {
    await page.context().close();
  }
}

const ms = (b) => b.ms.map((x) => (x >= 100 ? x.toFixed(0) : x.toFixed(2))).join('/');

/** One row per kernel: its GB/s (value) against the copy's (baseline), plus a row for the copy itself. */
function rowsOf(runtime, report) {
  if (report.error) return [{ bench: 'kernels', measure: `${runtime}: no result`, note: report.error }];
  const { copy } = report;
  const shape = `${report.rows}x${report.cols}`;
  const rows = report.kernels.map((k) => ({
    bench: 'kernels',
    measure: `${runtime} ${k.name} GB/s vs copy`,
    value: k.ok ? k.gbps : undefined,
    baseline: copy.gbps,
    ratio: k.ok ? k.gbps / copy.gbps : undefined,
    note: `${(k.bytes / 1e6).toFixed(0)} MB moved per run (${k.name === 'elementwise add' ? `n=${report.n}` : `${shape}, WG ${report.workgroup}`}); `
      + `ms/run ${ms(k)} (x${k.iters} per repeat, median of ${k.ms.length}); sampled err ${k.maxErr.toExponential(1)}${k.ok ? '' : ' WRONG RESULT'}`,
  }));
  rows.push({
    bench: 'kernels',
    measure: `${runtime} copyBufferToBuffer GB/s (read + write)`,
    value: copy.gbps,
    note: `${(copy.bytes / 1e6).toFixed(0)} MB per run; ms/run ${ms(copy)} (x${copy.iters}); adapter ${report.adapter}; ${report.runtime}; whole run ${(report.elapsedMs / 1000).toFixed(1)} s`,
  });
  return rows;
}
