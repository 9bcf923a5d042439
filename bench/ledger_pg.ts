// Ledger engines side by side, in one Deno process: settles per second with 32 in flight through the Deno KV
// ledger (in memory) and the PostgreSQL ledger on a throwaway local server started here. That server runs with
// fsync=off and synchronous_commit=off (see coordinator/testing/postgres.ts), so it measures the ledger's
// locking and round trips, not the disk; a durable server commits slower.
import { benchLedger } from '../coordinator/ledger/bench.ts';
import { openPgLedger } from '../coordinator/store/pg/mod.ts';
import { startPostgres } from '../coordinator/testing/postgres.ts';

const n = Number(Deno.args[0] ?? 3000);
const concurrency = 32;

const kv = await benchLedger(n, { concurrency });
const server = await startPostgres();
try {
  const pg = (poolSize: number) =>
    benchLedger(n, { concurrency, open: (starterCredits) => openPgLedger({ url: server.url, starterCredits, poolSize }) });
  // Each run gets an empty ledger: the first run's tables are dropped by migrating a fresh database.
  const pool10 = await pg(10);
  await resetDatabase(server.url);
  const pool32 = await pg(32);
  console.log(JSON.stringify({
    kvSettlesPerSec: kv.settlesPerSec,
    kvConflicts: kv.conflicts,
    pgSettlesPerSec: pool10.settlesPerSec,
    pgRetries: pool10.conflicts,
    pgPool32SettlesPerSec: pool32.settlesPerSec,
    pgPool32Retries: pool32.conflicts,
    settles: n,
    concurrency,
    pg: 'throwaway local PostgreSQL, fsync=off, synchronous_commit=off',
  }));
} finally {
  await server.stop();
}

async function resetDatabase(url: string): Promise<void> {
  const { connectPg } = await import('../coordinator/store/pg/mod.ts');
  const sql = connectPg(url, { max: 1 });
  try {
    await sql.unsafe('DROP SCHEMA public CASCADE; CREATE SCHEMA public;').simple();
  } finally {
    await sql.end();
  }
}
