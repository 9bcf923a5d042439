// Runs bench/ledger_bench.ts under Deno and reports settles/s against raw KV commits/s; then bench/ledger_pg.ts,
// which puts the PostgreSQL ledger (throwaway local server, fsync off) beside the KV ledger in one process.
import { execFileSync } from 'node:child_process';

const DENO = 'node_modules/.bin/deno';

/** Ledger settle throughput vs. the raw KV commit rate measured in the same process, plus the PostgreSQL rows. */
export async function benchLedger() {
  const out = execFileSync(DENO, ['run', '--allow-all', 'bench/ledger_bench.ts', '3000'], { encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1));
  return [{
    bench: 'ledger',
    measure: 'settles/s (32 in flight)',
    value: r.settlesPerSec,
    baseline: r.rawCommitsPerSec,
    ratio: r.settlesPerSec / r.rawCommitsPerSec,
    note: `baseline: one-key KV atomic commits/s; ${r.conflicts} retried conflicts`,
  }, ...benchPg()];
}

/** PostgreSQL ledger settles/s (pool of 10 and of 32) against the KV ledger's in the same process. */
function benchPg() {
  let r;
  try {
    const out = execFileSync(DENO, ['run', '--allow-all', 'bench/ledger_pg.ts', '3000'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    r = JSON.parse(out.trim().split('\n').at(-1));
  } catch (err) {
    const reason = String(err.stderr ?? err.message).trim().split('\n').at(-1);
    return [{ bench: 'ledger-pg', measure: 'settles/s (32 in flight)', note: `skipped: ${reason}` }];
  }
  const row = (measure, value, retries) => ({
    bench: 'ledger-pg',
    measure,
    value,
    baseline: r.kvSettlesPerSec,
    ratio: value / r.kvSettlesPerSec,
    note: `baseline: KV ledger settles/s, same run; local PostgreSQL with fsync off; ${retries} retries`,
  });
  return [
    row('settles/s (32 in flight, pool 10)', r.pgSettlesPerSec, r.pgRetries),
    row('settles/s (32 in flight, pool 32)', r.pgPool32SettlesPerSec, r.pgPool32Retries),
  ];
}
