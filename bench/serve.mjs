// Continuous serving: requests/s and p50/p99 latency of one service on ONE contributor, from 1, 4 and 16
// concurrent callers (each sends its next request as soon as its last one answered), with continuous batching
// on (maxBatch 16, maxWaitMs 2) and off (maxBatch 1), all in one run; ratios are batching on vs off at each
// concurrency. Model: PP-OCRv4 detector on one rendered text image per request. MESHWORK_BENCH_SERVE_CORES=n makes
// the contributor page report n cores (its pool then runs ORT on n threads).
import { median, openPage } from './lib.mjs';

const PAGE = '/bench/pages/serve.html';
/** The detector needs sides that are multiples of 32. */
const H = Number(process.env.MESHWORK_BENCH_SERVE_H ?? 32);
const W = Number(process.env.MESHWORK_BENCH_SERVE_W ?? 96);
const CONCURRENCY = [1, 4, 16];
/** Requests per round (after a warm-up round of 16). */
const TOTAL = Number(process.env.MESHWORK_BENCH_SERVE_REQUESTS ?? 96);
/** Rounds per mode and concurrency. */
const REPEATS = Number(process.env.MESHWORK_BENCH_REPEATS ?? 3);

/** Items and batches the contributor's replicas ran so far, summed. */
async function batchCounts(page) {
  const stats = await page.evaluate(() => window.benchServe.replicaStats());
  return Object.values(stats).reduce((a, s) => ({ items: a.items + s.items, batches: a.batches + s.batches }), { items: 0, batches: 0 });
}

/** Rows for `npm run bench -- serve`. */
export async function run({ browser, baseURL }) {
  const contributor = await openPage(browser, baseURL, PAGE);
  const client = await openPage(browser, baseURL, PAGE);
  const cores = Number(process.env.MESHWORK_BENCH_SERVE_CORES ?? 0);
  if (cores > 0) {
    // The contributor's pool sizes ORT's threads from the cores it sees: pretend fewer (e.g. 1 on a 2-core host).
    await contributor.addInitScript((n) => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => n }), cores);
    await contributor.reload();
    await contributor.waitForFunction(() => document.body.dataset.ready === 'true');
  }
  if (process.env.MESHWORK_BENCH_DEBUG) for (const p of [contributor, client]) p.on('console', (m) => console.error(`[page] ${m.text()}`));
  try {
    await contributor.evaluate(() => window.benchServe.connect());
    await contributor.evaluate(() => window.benchServe.contribute());
    await client.evaluate(() => window.benchServe.connect());
    const modes = { on: 16, off: 1 };
    for (const [mode, maxBatch] of Object.entries(modes)) {
      await client.evaluate(([name, b, h, w]) => window.benchServe.open(name, b, h, w), [mode, maxBatch, H, W]);
      await client.evaluate(([name]) => window.benchServe.round(name, 4, 16), [mode]); // warm: model, session, links
    }
    // Rounds alternate on/off, REPEATS times per concurrency, so load from elsewhere on the machine hits both alike;
    // each figure is the median over its rounds.
    const results = { on: {}, off: {} };
    for (const c of CONCURRENCY) {
      const rounds = { on: [], off: [] };
      for (let rep = 0; rep < REPEATS; rep++) {
        for (const mode of rep % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
          const before = await batchCounts(contributor);
          const r = await client.evaluate(([name, conc, total]) => window.benchServe.round(name, conc, total), [mode, c, TOTAL]);
          const after = await batchCounts(contributor);
          r.roundBatch = (after.items - before.items) / Math.max(1, after.batches - before.batches);
          rounds[mode].push(r);
        }
      }
      for (const mode of ['on', 'off']) {
        const rs = rounds[mode];
        results[mode][c] = {
          requestsPerSec: median(rs.map((r) => r.requestsPerSec)),
          p50Ms: median(rs.map((r) => r.p50Ms)),
          p99Ms: median(rs.map((r) => r.p99Ms)),
          roundBatch: median(rs.map((r) => r.roundBatch)),
          maxBatch: Math.max(...rs.map((r) => r.maxBatch)),
          busy: rs.reduce((n, r) => n + r.busy, 0),
          all: rs.map((r) => r.requestsPerSec.toFixed(0)).join('/'),
        };
      }
    }
    const direct = await client.evaluate(([b]) => window.benchServe.direct(b, 4), [8]);
    const rows = [{
      bench: 'serve',
      measure: 'model alone in a page pool, ms per item, batch 8 vs batch 1',
      value: direct.batched,
      baseline: direct.single,
      ratio: direct.batched / direct.single,
      note: `what batching can gain on this model and machine at most (ComputePool.runOnnx, wasm, 1x3x${H}x${W} items)`,
    }, {
      bench: 'serve',
      measure: 'model alone, ms per item, batch sizes varying 5..11 vs batch 1',
      value: direct.varied,
      baseline: direct.single,
      ratio: direct.varied / direct.single,
      note: 'as continuous batching feeds it: a new input shape on most runs',
    }];
    for (const c of CONCURRENCY) {
      const on = results.on[c];
      const off = results.off[c];
      const f = (x) => x.toFixed(1);
      rows.push({
        bench: 'serve',
        measure: `requests/s, ${c} concurrent caller${c > 1 ? 's' : ''}, batching on vs off`,
        value: on.requestsPerSec,
        baseline: off.requestsPerSec,
        ratio: on.requestsPerSec / off.requestsPerSec,
        note: `median of ${REPEATS} alternating rounds (req/s on ${on.all}, off ${off.all}); p50/p99 ms on ${f(on.p50Ms)}/${f(on.p99Ms)}, off ${f(off.p50Ms)}/${f(off.p99Ms)}; mean batch on ${on.roundBatch.toFixed(2)} (largest ${on.maxBatch}), off ${off.roundBatch.toFixed(2)}, busy on ${on.busy}/off ${off.busy}; ${TOTAL} requests of 1x3x${H}x${W}, one contributor`,
      });
      rows.push({
        bench: 'serve',
        measure: `p99 latency ms, ${c} concurrent caller${c > 1 ? 's' : ''}, batching on vs off`,
        value: on.p99Ms,
        baseline: off.p99Ms,
        ratio: on.p99Ms / off.p99Ms,
        note: `p50 ratio ${(on.p50Ms / off.p50Ms).toFixed(3)}`,
      });
    }
    return rows;
  } finally {
    await client.evaluate(() => window.benchServe.closeAll()).catch(() => {});
    await Promise.all([contributor, client].map((p) => p.evaluate(() => window.benchServe.close()).catch(() => {})));
    await Promise.all([contributor, client].map((p) => p.context().close()));
  }
}
