// Runs bench/market_pg.ts under Deno: the PostgreSQL market store's putShards batches/s against the Deno KV
// store's, measured in the same process (see that file for the setup).
import { execFileSync } from 'node:child_process';

const DENO = 'node_modules/.bin/deno';

/** putShards batches/s (100 shards each) on PostgreSQL vs Deno KV, 1 and 16 in flight. */
export function benchMarket() {
  let r;
  try {
    const out = execFileSync(DENO, ['run', '--allow-all', 'bench/market_pg.ts', '1000'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    r = JSON.parse(out.trim().split('\n').at(-1));
  } catch (err) {
    const reason = String(err.stderr ?? err.message).trim().split('\n').at(-1);
    return [{ bench: 'market-pg', measure: 'putShards batches/s', note: `skipped: ${reason}` }];
  }
  const row = (inFlight, value, baseline) => ({
    bench: 'market-pg',
    measure: `putShards batches/s (${r.shardsPerBatch} shards, ${inFlight} in flight)`,
    value,
    baseline,
    ratio: value / baseline,
    note: 'baseline: KV market store (in memory), same run; local PostgreSQL with fsync off',
  });
  return [row(1, r.pgBatchesPerSec, r.kvBatchesPerSec), row(16, r.pgBatchesPerSec16, r.kvBatchesPerSec16)];
}
