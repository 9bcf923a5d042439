// Scaling: the same data-parallel job (PP-OCRv4 detector over BATCH images, one image per shard) on 1, 2 and 4
// Chromium contributors, each capped to the same duty cycle (cpuCap = gpuCap = CAP, one lease computing at a time, PREFETCH more taken
// whose inputs arrive meanwhile), so that
// together they ask for less than this machine's cores and the count of contributors, not the machine, sets the
// pace. Counts are visited 1, 2, 4, 4, 2, 1 (contributors started and stopped in between); each visit's first two runs are
// unmeasured when a contributor joined (its ORT session), the figure per count is the median of all its runs.
import { median, openPage } from './lib.mjs';

const PAGE = '/bench/pages/scaling.html';
const REPEATS = Number(process.env.MESHWORK_BENCH_REPEATS ?? 3);
const CAP = Number(process.env.MESHWORK_SCALING_CAP ?? 0.2);
const BATCH = Number(process.env.MESHWORK_SCALING_BATCH ?? 16);
/** Leases each contributor takes beyond the one it computes (ContributeOptions.prefetch). */
const PREFETCH = Number(process.env.MESHWORK_SCALING_PREFETCH ?? 1);
const HEIGHT = 160;
const WIDTH = 320;
const COUNTS = [1, 2, 4];
/** Goals: speed-up against one contributor. */
const GOALS = { 2: 1.8, 4: 3.4 };

/** Rows for `npm run bench`: job ms at 1, 2 and 4 contributors and the speed-ups. */
export async function benchScaling({ browser, baseURL }) {
  const max = Math.max(...COUNTS);
  const client = await openPage(browser, baseURL, PAGE);
  const contributors = [];
  try {
    for (let i = 0; i < max; i++) contributors.push(await openPage(browser, baseURL, PAGE));
    await Promise.all([client, ...contributors].map((p) => p.evaluate(() => window.benchScaling.connect())));
    await client.evaluate(([b, h, w]) => window.benchScaling.setup(b, h, w), [BATCH, HEIGHT, WIDTH]);
    const ms = new Map(COUNTS.map((n) => [n, []]));
    const used = new Map(COUNTS.map((n) => [n, []]));
    let active = 0;
    const visit = async (n) => {
      const joined = n > active;
      while (active < n) await contributors[active++].evaluate(([cap, prefetch]) => window.benchScaling.contribute(cap, prefetch), [CAP, PREFETCH]);
      while (active > n) await contributors[--active].evaluate(() => window.benchScaling.stop());
      if (joined) for (let i = 0; i < 2; i++) await client.evaluate(() => window.benchScaling.run());
      for (let i = 0; i < REPEATS; i++) {
        const r = await client.evaluate(() => window.benchScaling.run());
        ms.get(n).push(r.ms);
        used.get(n).push(r.contributors);
      }
    };
    for (const n of [...COUNTS, ...[...COUNTS].reverse()]) await visit(n);
    const shards = await Promise.all(contributors.map((p) => p.evaluate(() => window.benchScaling.shardsRun())));
    const one = median(ms.get(1));
    return COUNTS.map((n) => {
      const value = median(ms.get(n));
      const goal = GOALS[n];
      return {
        bench: 'scaling',
        measure: `PP-OCRv4 det ${BATCH} shards of 1x3x${HEIGHT}x${WIDTH}, ms, ${n} contributor${n > 1 ? 's' : ''} (speed-up vs 1)`,
        value,
        baseline: n === 1 ? undefined : one,
        ratio: n === 1 ? undefined : one / value,
        note: `cap ${CAP} each, prefetch ${PREFETCH}; median of ${ms.get(n).length}: ${ms.get(n).map((x) => x.toFixed(0)).join('/')}; contributors that ran shards per job ${used.get(n).join('/')}`
          + (n === max ? `; shards run per contributor in all ${shards.join('/')}` : '')
          + (goal ? `; goal speed-up >= ${goal}` : ''),
      };
    });
  } finally {
    await Promise.all([client, ...contributors].map((p) => p.evaluate(() => window.benchScaling.close()).catch(() => {})));
    await Promise.all([client, ...contributors].map((p) => p.context().close()));
  }
}
