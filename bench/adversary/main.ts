/**
 * `deno run -A bench/adversary/main.ts [--shards N] [--only NAME[,NAME]]`: strangers in the mesh, against the
 * real market, matcher, verification and ledger (no browsers, no sockets). Runs every mix (see mixes.ts), prints
 * progress on stderr, the Markdown table on stdout and the JSON report on the last line.
 */
import { HISTORY, mixes } from './mixes.ts';
import { benchRows, goals, json, markdown } from './report.ts';
import { runMix, type MixResult, JOBS_PER_CLIENT, SHARDS_PER_JOB } from './run-mix.ts';
import { CLIENTS, CONTRIBUTORS, MAX_CONCURRENT } from './population.ts';
import { TIMERS } from './world.ts';

const shardsArg = flag('shards');
const shards = Number(shardsArg ?? 30_000);
if (!Number.isSafeInteger(shards) || shards < 1) {
  throw new RangeError(`Cannot run the adversary bench as '--shards' must be a positive integer: current value is ${shardsArg}`);
}
const only = flag('only')?.split(',').map((s) => s.trim()).filter(Boolean);

const results: MixResult[] = [];
const started = performance.now();
for (const mix of mixes(shards)) {
  if (only && !only.some((o) => mix.name.includes(o))) continue;
  const r = await runMix(mix);
  results.push(r);
  const missed = goals(r).filter((g) => !g.met).map((g) => g.goal);
  console.error(`${mix.name}: ${r.finished} shards in ${r.seconds.toFixed(1)} s, ${r.wrong} wrong, extra runs ${(r.overhead * 100).toFixed(1)}%, ` +
    `saboteurs' net ${r.saboteurNet} µcr${missed.length ? `; missed: ${missed.join(', ')}` : ''}`);
}
console.log(markdown(results));
console.log(json(results, {
  date: new Date().toISOString(),
  seconds: (performance.now() - started) / 1000,
  deno: Deno.version.deno,
  rows: benchRows(results),
  setup: { contributors: CONTRIBUTORS, clients: CLIENTS, maxConcurrent: MAX_CONCURRENT, history: HISTORY, shardsPerJob: SHARDS_PER_JOB, jobsPerClient: JOBS_PER_CLIENT, ...TIMERS },
}));

/** The value of `--name V` or `--name=V`. */
function flag(name: string): string | undefined {
  for (let i = 0; i < Deno.args.length; i++) {
    const a = Deno.args[i]!;
    if (a === `--${name}`) return Deno.args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}
