// Pipeline parallelism: throughput (items/s) of the PP-OCRv4 recogniser over ITEMS rendered text lines of
// 48 x WIDTH, split into STAGES stages twice (by weight bytes, and by time measured in the client page on one
// line: splitModel's balance 'time') over STAGES Chromium contributors (one stage job per stage,
// activations peer to peer), against ONE contributor running the whole model as a data-parallel job with as many
// items per shard as the micro-batch. Micro-batches 1, 2, 4, 8; same items, same process. Every contributor is
// capped to the same duty cycle (cpuCap = gpuCap = CAP, one lease computing at a time, PREFETCH more taken), so
// together they ask for less than this machine's cores; for the single-contributor runs the others are paused
// (their sessions stay warm). Each repeat visits every micro-batch with the three modes in rotating order; the
// figure per micro-batch and mode is the median of its repeats.
import { median, openPage } from './lib.mjs';

const PAGE = '/bench/pages/pipeline.html';
const REPEATS = Number(process.env.MESHWORK_BENCH_REPEATS ?? 3);
const CAP = Number(process.env.MESHWORK_PIPELINE_CAP ?? 0.25);
const ITEMS = Number(process.env.MESHWORK_PIPELINE_ITEMS ?? 32);
const WIDTH = Number(process.env.MESHWORK_PIPELINE_WIDTH ?? 320);
const STAGES = Number(process.env.MESHWORK_PIPELINE_STAGES ?? 3);
const PREFETCH = Number(process.env.MESHWORK_PIPELINE_PREFETCH ?? 1);
const MICRO = (process.env.MESHWORK_PIPELINE_MICRO ?? '1,2,4,8').split(',').map(Number);

/** Rows for `npm run bench -- pipeline`. */
export async function run({ browser, baseURL }) {
  const client = await openPage(browser, baseURL, PAGE);
  const contributors = [];
  try {
    for (let i = 0; i < STAGES; i++) contributors.push(await openPage(browser, baseURL, PAGE));
    if (process.env.MESHWORK_BENCH_DEBUG) for (const p of [client, ...contributors]) p.on('console', (m) => console.error(`[page] ${m.text()}`));
    await Promise.all([client, ...contributors].map((p) => p.evaluate(() => window.benchPipeline.connect())));
    const split = await client.evaluate(([n, w, k]) => window.benchPipeline.setup(n, w, k), [ITEMS, WIDTH, STAGES]);
    for (const c of contributors) await c.evaluate(([cap, prefetch]) => window.benchPipeline.contribute(cap, prefetch), [CAP, PREFETCH]);
    const others = contributors.slice(1);
    let mode = 'pipeline';
    const setMode = async (m) => {
      const next = m === 'whole' ? 'whole' : 'pipeline';
      if (next === mode) return;
      await Promise.all(others.map((p) => p.evaluate((m) => (m === 'whole' ? window.benchPipeline.pause() : window.benchPipeline.resume()), next)));
      mode = next;
    };
    const takeBusy = () => Promise.all(contributors.map((p) => p.evaluate(() => window.benchPipeline.takeBusy())));
    const runOnce = async (m, mb) => {
      await setMode(m);
      await takeBusy();
      const r = await client.evaluate(([m, mb]) => (m === 'whole' ? window.benchPipeline.runWhole(mb) : window.benchPipeline.runPipeline(mb, m === 'time' ? 'time' : 'bytes')), [m, mb]);
      // Occupancy: the share of the run's wall time each contributor spent in pool calls (compute at its cap).
      r.occupancy = (await takeBusy()).map((b) => b.ms / r.ms);
      return r;
    };
    // Warm-up, unmeasured: the whole model on contributor 0, the stages on all (model transfers, ORT sessions).
    await runOnce('whole', MICRO[0]);
    await runOnce('pipeline', MICRO[0]);
    await runOnce('time', MICRO[0]);
    const MODES = ['pipeline', 'whole', 'time'];
    const perMode = () => Object.fromEntries(MODES.map((m) => [m, new Map(MICRO.map((b) => [b, []]))]));
    const ms = perMode();
    const used = perMode();
    const occ = perMode();
    let maxAbs = 0;
    for (let rep = 0; rep < REPEATS; rep++) {
      for (const mb of MICRO) {
        for (const m of MODES.map((_, i) => MODES[(i + rep) % MODES.length])) {
          const r = await runOnce(m, mb);
          ms[m].get(mb).push(r.ms);
          occ[m].get(mb).push(r.occupancy);
          maxAbs = Math.max(maxAbs, r.maxAbs);
          if (m !== 'whole') used[m].get(mb).push(r.contributors.join('+'));
          else if (r.contributors[0] !== 1) throw new Error(`Cannot measure one contributor as ${r.contributors[0]} ran the whole-model job`);
        }
      }
    }
    await setMode('pipeline');
    const shards = await Promise.all(contributors.map((p) => p.evaluate(() => window.benchPipeline.shardsRun())));
    const fmt = (xs) => xs.map((x) => x.toFixed(1)).join('/');
    const rows = [];
    for (const [tag, info] of [['weight bytes', split.bytes], ['time (measured in the page on 1 line)', split.time]]) {
      rows.push({
        bench: 'pipeline',
        measure: `recogniser split into ${STAGES} stages by ${tag}, ms in the client page (outside the timed runs)`,
        value: info.splitMs,
        note: `stage model bytes ${info.stageBytes.join('/')}, weight bytes ${info.weightBytes.join('/')}; cut tensors ${info.cuts.slice(0, -1).map((c) => c.join(',')).join(' | ')}` +
          (info.fineMs ? `; fine-stage ms ${fmt(info.fineMs)}; stage ms as the splitter measured them ${fmt(info.splitterMs)}` : ''),
      });
    }
    for (const [tag, info] of [['bytes', split.bytes], ['time', split.time]]) {
      rows.push({
        bench: 'pipeline',
        measure: `compute alone, 1 item, ORT wasm 1 thread in the client page: whole model ms vs slowest of the ${STAGES} stages split by ${tag}`,
        value: split.wholeMs,
        baseline: Math.max(...info.stageMs),
        ratio: split.wholeMs / Math.max(...info.stageMs),
        note: `stage ms ${fmt(info.stageMs)} (slowest/fastest ${(Math.max(...info.stageMs) / Math.min(...info.stageMs)).toFixed(2)}): the ratio here is the most the pipeline can gain over one contributor at the same cap`,
      });
    }
    const LABEL = { pipeline: 'split by weight bytes', time: 'split by time' };
    for (const mb of MICRO) {
      const whole = median(ms.whole.get(mb));
      const ips = (t) => (ITEMS * 1000) / t;
      // Median occupancy per contributor over the repeats, as percentages.
      const occText = (m) => contributors.map((_, i) => `${(100 * median(occ[m].get(mb).map((o) => o[i]))).toFixed(0)}%`).join('/');
      for (const m of ['pipeline', 'time']) {
        const pipe = median(ms[m].get(mb));
        rows.push({
          bench: 'pipeline',
          measure: `PP-OCRv4 rec ${ITEMS} items of 3x48x${WIDTH}, items/s, micro-batch ${mb}: ${STAGES} stages ${LABEL[m]} on ${STAGES} contributors vs whole model on 1`,
          value: ips(pipe),
          baseline: ips(whole),
          ratio: whole / pipe,
          note: `cap ${CAP} each, prefetch ${PREFETCH}; ${Math.ceil(ITEMS / mb)} micro-batches; median of ${REPEATS}: pipeline ms ${ms[m].get(mb).map((x) => x.toFixed(0)).join('/')}, whole ms ${ms.whole.get(mb).map((x) => x.toFixed(0)).join('/')}; contributors per stage ${used[m].get(mb).join(' ')}; occupancy (pool-call time / wall, queued prefetched calls included, so > 100% is possible) per contributor: pipeline ${occText(m)}, whole ${occText('whole')}`,
        });
      }
    }
    rows.push({
      bench: 'pipeline',
      measure: 'max abs difference, every run vs the first whole-model result',
      value: maxAbs,
      note: `shards run per contributor in all ${shards.join('/')}; what limits the ratio: at the same cap it is at most whole / slowest stage (the compute row; ${STAGES} only for stages equal in time), less the fill and drain of ${STAGES} stages and the per-shard round trips (assign, activation pull, claim, verdict before the next stage starts) a pipeline pays once per stage`,
    });
    return rows;
  } finally {
    await Promise.all([client, ...contributors].map((p) => p.evaluate(() => window.benchPipeline.close()).catch(() => {})));
    await Promise.all([client, ...contributors].map((p) => p.context().close()));
  }
}
