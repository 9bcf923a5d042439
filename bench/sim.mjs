// Runs bench/sim/sim.ts under Deno: the real market and KV ledger driven by simulated peers in virtual time.
// Flags for the simulator come from MESHWORK_SIM_ARGS (e.g. "--peers 10000 --shards 1000000"); the default is
// the largest setting that stays within a few minutes on a 2-core machine (see bench/RESULTS.md).
import { execFileSync } from 'node:child_process';

const DEFAULT_ARGS = '--peers 2000 --shards 20000 --job-shards 1000 --wall-limit-s 240';

/** Rows for `npm run bench -- sim`. */
export function benchSim() {
  const args = (process.env.MESHWORK_SIM_ARGS ?? DEFAULT_ARGS).split(/\s+/).filter(Boolean);
  const out = execFileSync('node_modules/.bin/deno', ['run', '-A', 'bench/sim/sim.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  const setting = `${r.peers} peers, ${r.shards} shards in ${r.jobs} jobs, trust ${r.trust}, churn ${r.churnPerHour}/h${r.truncated ? `, TRUNCATED at ${r.jobsDone} jobs done` : ''}`;
  return [
    { bench: 'sim', measure: 'makespan s vs ideal (work / speed + transfer)', value: r.makespanS, baseline: r.idealS, ratio: r.makespanRatio, note: `goal ratio <= 1.15; ${setting}; executed work ${r.executedWorkRatio.toFixed(2)}x the jobs' (verification, duplicates); ${r.speculative} speculative` },
    { bench: 'sim', measure: 'job latency p99 vs p50 (s)', value: r.jobLatencyP99S, baseline: r.jobLatencyP50S, ratio: r.latencyRatio, note: 'goal ratio <= 1.3; all jobs submitted at t=0' },
    { bench: 'sim', measure: 'coordinator assignments+settlements/s (one process)', value: r.opsPerSec, note: `goal >= 2000/s; ${r.usPerOp.toFixed(0)} us per op: market ${r.marketCpuMs} ms + ledger wait ${r.ledgerMs} ms over ${r.assigns} assigns + ${r.settled} settles; ledger balanced ${r.ledgerBalanced}; wall ${r.wallS.toFixed(0)} s` },
  ];
}
