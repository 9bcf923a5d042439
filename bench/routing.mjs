// Runs bench/routing/main.ts under Deno: latency-aware vs latency-blind matching on the real Market and matcher
// with simulated round trips, placement under a 20 ms budget, and the result cache against computing.
import { execFileSync } from 'node:child_process';

const DENO = 'node_modules/.bin/deno';

/** Rows: median shard latency aware vs blind, shards placed outside a 20 ms budget, cached vs computed job time. */
export function benchRouting() {
  const out = execFileSync(DENO, ['run', '--allow-all', 'bench/routing/main.ts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  return [
    {
      bench: 'routing',
      measure: 'median shard latency ms, latency-aware (lower is better)',
      value: r.awareMedianMs,
      baseline: r.blindMedianMs,
      ratio: r.awareMedianMs / r.blindMedianMs,
      note: `baseline: latency-blind matching, same run; 10 contributors each at 5/50/200 ms RTT; median RTT used ${r.awareMedianRtt} vs ${r.blindMedianRtt} ms`,
    },
    { bench: 'routing', measure: 'shards of 20 ms budget jobs placed outside it', value: r.budgetOutside, note: `of ${r.budgetShards}` },
    {
      bench: 'routing',
      measure: 'identical job from the result cache, speed-up vs computing (higher is better)',
      value: r.computeMs / r.cachedMs,
      baseline: 1,
      ratio: r.computeMs / r.cachedMs,
      note: `coordinator level: ${r.cachedMs.toFixed(1)} ms cached (${r.cachedShards}/8 shards) vs ${r.computeMs.toFixed(1)} ms computed (8 shards of real 256^3 f32 JS matmul, 4 contributors, 5 ms RTT); verified run ${r.verifiedMs.toFixed(1)} ms`,
    },
  ];
}
