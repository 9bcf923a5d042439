// Matmul: our generated WGSL kernel (best of its tile candidates) against tfjs-webgpu and onnxruntime-web's
// WebGPU EP, on the same adapter in the same run: first in headless Chromium (bench/pages/matmul.html,
// SwiftShader), then in Deno (bench/matmul_deno.ts, llvmpipe), one after the other so they do not share cores.
// Env: MESHWORK_BENCH_MATMUL_SIZES (default 256,512,1024,2048), MESHWORK_BENCH_MATMUL_BUDGET_S (per runtime,
// default 240). A runtime that fails yields a row saying why instead of its numbers. The raw reports of both
// runtimes are written to .tmp/bench-matmul.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { openPage, runDenoJson } from './lib.mjs';

const PAGE = '/bench/pages/matmul.html';
const SIZES = (process.env.MESHWORK_BENCH_MATMUL_SIZES ?? '256,512,1024,2048').split(',').map((s) => Number(s.trim()));
const BUDGET_S = Number(process.env.MESHWORK_BENCH_MATMUL_BUDGET_S ?? 240);
/** Both runtimes' full reports (every candidate, every repeat), for a closer look than the table. */
const REPORT = '.tmp/bench-matmul.json';

const COMPETITORS = [
  ['tfjs', 'tfjs-webgpu'],
  ['ortGpu', 'ort-webgpu (gpu-buffer io)'],
  ['ortCpu', 'ort-webgpu (cpu tensors io)'],
];

/** Rows for `npm run bench -- matmul`. */
export async function run({ browser, baseURL }) {
  if (SIZES.some((n) => !Number.isInteger(n) || n < 4)) {
    throw new RangeError(`Cannot run the matmul bench as MESHWORK_BENCH_MATMUL_SIZES must list integers >= 4: current value is ${SIZES.join(',')}`);
  }
  const chromium = await runChromium(browser, baseURL).catch((err) => ({ error: err.message }));
  const deno = await runDenoJson('bench/matmul_deno.ts', { MESHWORK_BENCH_MATMUL_SIZES: SIZES.join(','), MESHWORK_BENCH_MATMUL_BUDGET_S: String(BUDGET_S) }).catch((err) => ({ error: err.message }));
  await mkdir('.tmp', { recursive: true });
  await writeFile(REPORT, JSON.stringify({ chromium, deno }, null, 1));
  console.error(`[matmul] raw reports written to ${REPORT}`);
  return [...rowsOf('chromium', chromium), ...rowsOf('deno', deno)];
}

async function runChromium(browser, baseURL) {
  const page = await openPage(browser, baseURL, PAGE);
  page.on('console', (msg) => {
    if (msg.text().startsWith('[matmul]')) console.error(msg.text().replace('[matmul]', '[matmul chromium]'));
  });
  try {
    return await page.evaluate((opts) => window.benchMatmul.run(opts), { sizes: SIZES, budgetMs: BUDGET_S * 1000 });
  } finally {
    await page.context().close();
  }
}

const measured = (o) => o !== undefined && typeof o.gflops === 'number';
const ms = (o) => o.ms.map((x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))).join('/');
const why = (o) => (o === undefined ? 'not run' : o.skipped ? `skipped: ${o.skipped}` : o.error ? `failed: ${o.error}` : '');

function rowsOf(runtime, report) {
  if (report.error) return [{ bench: 'matmul', measure: `${runtime}: no result`, note: report.error }];
  const rows = [];
  const fails = Object.entries(report.failures ?? {}).map(([k, v]) => `${k}: ${v}`).join('; ');
  for (const size of report.sizes) {
    const best = size.best;
    const bestOurs = best ? size.ours.find((o) => o.name === best.name) : undefined;
    for (const [key, label] of COMPETITORS) {
      const o = size[key];
      const row = { bench: 'matmul', measure: `${runtime} n=${size.n} GFLOP/s ours vs ${label}`, value: best?.gflops };
      const notes = [best ? `ours ${best.name}${bestOurs?.vec4 ? ' vec4' : ''} ms ${ms(bestOurs)}, err ${bestOurs.maxErr.toExponential(1)}` : 'ours: no verified candidate'];
      if (measured(o)) {
        row.baseline = o.gflops;
        if (best) row.ratio = best.gflops / o.gflops;
        notes.push(`${key} ms ${ms(o)} x${o.iters}, err ${o.maxErr.toExponential(1)}${o.ok ? '' : ' WRONG RESULT'}`);
      } else {
        notes.push(`${key} ${why(o)}`);
      }
      notes.push(`ours: median of ${bestOurs?.ms?.length ?? '?'} repeat(s) x${bestOurs?.iters ?? '?'}`);
      row.note = notes.join('; ');
      rows.push(row);
    }
    const def = size.ours.find((o) => o.name === report.defaultConfig);
    rows.push({
      bench: 'matmul',
      measure: `${runtime} n=${size.n} best config: ${best?.name ?? '-'} vs default ${report.defaultConfig}, GFLOP/s`,
      value: best?.gflops,
      baseline: measured(def) ? def.gflops : undefined,
      ratio: best && measured(def) ? best.gflops / def.gflops : undefined,
      note: size.ours.map((o) => `${o.name} ${measured(o) ? o.gflops.toFixed(2) + (o.ok ? '' : ' WRONG') : o.skipped ? '-' : 'failed'}`).join(', '),
    });
  }
  const tune = report.autotune;
  const a = report.adapters;
  const same = [a.tfjs, a.ort].every((x) => x === null || x === a.ours);
  const adapters = `adapters: ours ${a.ours}; tfjs ${a.tfjs ?? '?'}; ort ${a.ort ?? '?'}${same ? ' (same)' : ' (DIFFER)'}`;
  if (tune.error) {
    rows.push({ bench: 'matmul', measure: `${runtime} autotune: failed`, note: `${tune.error}; ${adapters}` });
  } else {
    // The pick's rate in the sweep above at the largest size it ran, against the best candidate there.
    const at = [...report.sizes].reverse().find((s) => s.ours.some((o) => o.name === tune.config && measured(o)));
    const pick = at?.ours.find((o) => o.name === tune.config);
    rows.push({
      bench: 'matmul',
      measure: `${runtime} autotune pick ${tune.config}${at ? ` at n=${at.n}` : ''}, GFLOP/s vs best there (${at?.best?.name ?? '-'})`,
      value: pick?.gflops,
      baseline: at?.best?.gflops,
      ratio: pick && at?.best ? pick.gflops / at.best.gflops : undefined,
      note: `autotune's own figure ${tune.gflops.toFixed(2)} GFLOP/s at n=${tune.n}; ${tune.trials.length} candidates timed, ${tune.skipped} left untimed by its budget; tuning ${(tune.ms / 1000).toFixed(1)} s`
        + `; best per size: ${report.sizes.map((s) => `${s.n}: ${s.best?.name ?? '-'}`).join(', ')}; ${adapters}`
        + `; ${report.compiled} pipelines of ours created in ${(report.compileMs / 1000).toFixed(1)} s (outside timings); run ${(report.elapsedMs / 1000).toFixed(0)} s of ${(report.budgetMs / 1000).toFixed(0)} s budget`
        + (fails ? `; not loaded: ${fails}` : ''),
    });
  }
  return rows;
}
