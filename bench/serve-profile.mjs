// Where serving's time goes: the serve bench's setup (one contributor page, one client page), then one round
// per mode at MESHWORK_BENCH_SERVE_CONC callers (default 16) with the V8 sampling profiler (CDP) running on
// both pages' main threads. Prints each page's busy share of the round and its top functions by self time,
// plus the round's figures. Not part of `npm run bench` (a diagnosis tool): `node bench/run.mjs serveprofile`.
import { openPage } from './lib.mjs';

const PAGE = '/bench/pages/serve.html';
const H = Number(process.env.MESHWORK_BENCH_SERVE_H ?? 32);
const W = Number(process.env.MESHWORK_BENCH_SERVE_W ?? 96);
const CONC = Number(process.env.MESHWORK_BENCH_SERVE_CONC ?? 16);
const TOTAL = Number(process.env.MESHWORK_BENCH_SERVE_REQUESTS ?? 192);
const TOP = 14;

/** Self time (ms) per function (name + url:line) of a CDP profile, and the total sampled, idle and GC time. */
function summarize(profile) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  let total = 0;
  let idle = 0;
  for (const [id, ms] of dt) {
    const n = byId.get(id);
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    total += ms;
    if (f.functionName === '(idle)') idle += ms;
    self.set(name, (self.get(name) ?? 0) + ms);
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return { total, idle, top };
}

async function profiled(pages, fn) {
  const sessions = await Promise.all(pages.map(async (p) => {
    const s = await p.context().newCDPSession(p);
    await s.send('Profiler.enable');
    await s.send('Profiler.setSamplingInterval', { interval: 200 });
    await s.send('Profiler.start');
    return s;
  }));
  const result = await fn();
  const profiles = await Promise.all(sessions.map(async (s) => (await s.send('Profiler.stop')).profile));
  await Promise.all(sessions.map((s) => s.detach()));
  return { result, profiles: profiles.map(summarize) };
}

/** Rows: one per mode with the round's figures; profiles printed to stderr. */
export async function run({ browser, baseURL }) {
  const contributor = await openPage(browser, baseURL, PAGE);
  const client = await openPage(browser, baseURL, PAGE);
  try {
    await contributor.evaluate(() => window.benchServe.connect());
    await contributor.evaluate(() => window.benchServe.contribute());
    await client.evaluate(() => window.benchServe.connect());
    const rows = [];
    for (const [mode, maxBatch] of [['on', 16], ['off', 1]]) {
      await client.evaluate(([name, b, h, w]) => window.benchServe.open(name, b, h, w), [mode, maxBatch, H, W]);
      await client.evaluate(([name]) => window.benchServe.round(name, 16, 64), [mode]);
      const { result, profiles } = await profiled([contributor, client], () =>
        client.evaluate(([name, c, t]) => window.benchServe.round(name, c, t), [mode, CONC, TOTAL]));
      const names = ['contributor', 'client'];
      profiles.forEach((p, i) => {
        console.error(`\n== ${mode}: ${names[i]} main thread: sampled ${p.total.toFixed(0)} ms, idle ${p.idle.toFixed(0)} ms (round ${result.wallMs.toFixed(0)} ms)`);
        for (const [name, ms] of p.top) console.error(`  ${ms.toFixed(1).padStart(8)} ms  ${name}`);
      });
      rows.push({
        bench: 'serveprofile',
        measure: `requests/s, ${CONC} callers, batching ${mode}`,
        value: result.requestsPerSec,
        note: `p50/p99 ${result.p50Ms.toFixed(1)}/${result.p99Ms.toFixed(1)} ms; contributor busy ${(100 * (1 - profiles[0].idle / profiles[0].total)).toFixed(0)}%, client busy ${(100 * (1 - profiles[1].idle / profiles[1].total)).toFixed(0)}%`,
      });
    }
    return rows;
  } finally {
    await client.evaluate(() => window.benchServe.closeAll()).catch(() => {});
    await Promise.all([contributor, client].map((p) => p.evaluate(() => window.benchServe.close()).catch(() => {})));
    await Promise.all([contributor, client].map((p) => p.context().close()));
  }
}
