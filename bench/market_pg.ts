// Market store engines side by side, in one Deno process: putShards batches (100 shard states each, fenced by
// the owner, as the market's persistence writes them) per second through the Deno KV store (in memory) and the
// PostgreSQL store on a throwaway local server started here, with one batch in flight (one instance flushing its
// jobs in turn) and 16 (16 jobs flushed at once); the engines take turns in rounds so that the machine's load
// falls on both alike. The server runs with fsync=off and synchronous_commit=off (coordinator/testing/postgres.ts),
// so it measures the statement and its locks, not the disk.
import type { Lease } from '../src/protocol/coordinator.ts';
import { KvMarketStore } from '../coordinator/store/kv/market-store.ts';
import { openPgMarketStore } from '../coordinator/store/pg/mod.ts';
import type { MarketStore, StoredShard } from '../coordinator/store/types.ts';
import { onnxJob } from '../coordinator/testing/fixtures.ts';
import { startPostgres } from '../coordinator/testing/postgres.ts';

const batches = Number(Deno.args[0] ?? 1000);
const SHARDS_PER_BATCH = 100;
const JOBS = 16;
const ROUNDS = 10;
const SHARDS_PER_JOB = 1000;

/** A shard as the market stores it mid-run: one claimed run with its signed claim. */
function shard(jobId: string, index: number, n: number): StoredShard {
  const lease: Lease = { leaseId: `${jobId}:${index}:${n}`, jobId, shard: index, client: 'mwclient', contributor: 'mwworker', price: 120, expiresAt: 1_700_000_100_000, replica: false, verified: true };
  return {
    verify: true, waived: false, tiebreak: false, done: false, barred: [],
    runs: [{ lease, role: 'primary', network: 'ip:10.0.0.0/24', startedAt: 1_700_000_000_500, state: 'claimed', claim: { outputHash: 'a'.repeat(64), at: 1_700_000_001_000, signature: 'b'.repeat(88) } }],
  };
}

/** Milliseconds to write `batches` batches with `inFlight` writers, each to its own job (the first `inFlight`). */
async function timed(store: MarketStore, batches: number, inFlight: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async (_, w) => {
    const jobId = `job${w}`;
    while (next < batches) {
      const n = next++;
      const first = (n * SHARDS_PER_BATCH) % SHARDS_PER_JOB;
      const rows = Array.from({ length: SHARDS_PER_BATCH }, (_, i) => [first + i, shard(jobId, first + i, n)] as const);
      if (!(await store.putShards(jobId, rows, 'bench'))) throw new Error(`Cannot write shards of ${jobId} as the store refused: current owner is ${await store.ownerOf(jobId)}`);
    }
  }));
  return performance.now() - t0;
}

/** Batches/s of each store with `inFlight` writers, the stores taking turns in ROUNDS rounds so load hits both alike. */
async function measure(stores: readonly MarketStore[], inFlight: number): Promise<number[]> {
  const ms = stores.map(() => 0);
  const perRound = Math.ceil(batches / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, store] of stores.entries()) ms[i]! += await timed(store, perRound, inFlight);
  }
  return ms.map((t) => (perRound * ROUNDS / t) * 1000);
}

async function prepare(store: MarketStore): Promise<void> {
  for (let j = 0; j < JOBS; j++) {
    await store.putJob({ jobId: `job${j}`, client: 'mwclient', spec: onnxJob({ shards: SHARDS_PER_JOB }), seq: j, submittedAt: j, escrow: 1_000_000, feeRate: 0.05, bytes: 1, sampled: [], owner: 'bench' });
  }
  await timed(store, 100, JOBS); // warm-up: connections, prepared statements, first rows
}

const kvDb = await Deno.openKv(':memory:');
const server = await startPostgres();
try {
  const kv = new KvMarketStore(kvDb);
  const pg = await openPgMarketStore({ url: server.url, poolSize: JOBS });
  try {
    await prepare(kv);
    await prepare(pg);
    const [kvOne, pgOne] = await measure([kv, pg], 1);
    const [kvSixteen, pgSixteen] = await measure([kv, pg], JOBS);
    console.log(JSON.stringify({
      kvBatchesPerSec: kvOne,
      pgBatchesPerSec: pgOne,
      kvBatchesPerSec16: kvSixteen,
      pgBatchesPerSec16: pgSixteen,
      shardsPerBatch: SHARDS_PER_BATCH,
      batches,
      pg: 'throwaway local PostgreSQL, fsync=off, synchronous_commit=off',
    }));
  } finally {
    await pg.close();
  }
} finally {
  kvDb.close();
  await server.stop();
}
