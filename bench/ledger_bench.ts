// Ledger throughput against its own storage floor, in one Deno process: settles per second through the
// real ledger vs. plain Deno KV atomic commits of one key each (the same store, the same concurrency).
import { benchLedger } from '../coordinator/ledger/bench.ts';

const n = Number(Deno.args[0] ?? 3000);
const concurrency = 32;

async function rawCommits(count: number): Promise<number> {
  const kv = await Deno.openKv(':memory:');
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      await kv.atomic().set(['raw', i], i).commit();
    }
  }));
  const ms = performance.now() - t0;
  kv.close();
  return (count / ms) * 1000;
}

const raw = await rawCommits(n);
const ledger = await benchLedger(n, { concurrency });
console.log(JSON.stringify({ settlesPerSec: ledger.settlesPerSec, rawCommitsPerSec: raw, conflicts: ledger.conflicts }));
