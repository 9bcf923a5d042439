// Runs bench/ledger_bench.ts under Deno and reports settles/s against raw KV commits/s.
import { execFileSync } from 'node:child_process';

/** Ledger settle throughput vs. the raw KV commit rate measured in the same process. */
export async function benchLedger() {
  const out = execFileSync('node_modules/.bin/deno', ['run', '--allow-all', 'bench/ledger_bench.ts', '3000'], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  return [{
    bench: 'ledger',
    measure: 'settles/s (32 in flight)',
    value: r.settlesPerSec,
    baseline: r.rawCommitsPerSec,
    ratio: r.settlesPerSec / r.rawCommitsPerSec,
    note: `baseline: one-key KV atomic commits/s; ${r.conflicts} retried conflicts`,
  }];
}
