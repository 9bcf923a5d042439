/**
 * Ledger throughput for `npm run bench`: settlements per second on an in-memory Deno KV ledger, with
 * `concurrency` settles in flight spread over `jobs` escrows (settles of one job contend on its escrow key,
 * so this measures commit throughput and conflict retries together, as the coordinator sees them). Another
 * engine (PostgreSQL) is measured the same way by passing `open`.
 */
import { openLedger } from './kv-ledger.ts';
import type { RetryStats } from './_retry.ts';
import type { Ledger } from './types.ts';

/** What the bench needs of a ledger engine. */
export type BenchLedger = Ledger & { stats(): Readonly<RetryStats>; close(): void | Promise<void> };

/** Options of `benchLedger`. */
export interface LedgerBenchOptions {
  /** Escrows the settlements are spread over (default 16). */
  jobs?: number;
  /** Settlements in flight at once (default 32). */
  concurrency?: number;
  /** KV path (default ':memory:'); a file path measures the on-disk store. */
  path?: string;
  /** Opens an empty ledger of another engine instead of KV at `path`. */
  open?: (starterCredits: number) => Promise<BenchLedger>;
}

/** Settles `n` distinct receipts and reports settlements per second, plus the conflict retries they took. */
export async function benchLedger(
  n: number,
  opts: LedgerBenchOptions = {},
): Promise<{ settlesPerSec: number; settles: number; conflicts: number; ms: number }> {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`Cannot benchmark the ledger as 'n' must be a positive integer: current value is ${n}`);
  }
  const { jobs = 16, concurrency = 32, path = ':memory:', open = (starterCredits: number) => openLedger({ path, starterCredits }) } = opts;
  const amount = 1000;
  const fee = 50;
  const perJob = Math.ceil(n / jobs) * (amount + fee);
  const ledger = await open(perJob * jobs);
  try {
    await ledger.ensureAccount('client');
    for (let j = 0; j < jobs; j++) await ledger.hold(`bench${j}`, 'client', perJob);
    const before = ledger.stats().conflicts;
    let issued = 0;
    const lane = async (): Promise<void> => {
      while (issued < n) {
        const i = issued++;
        const res = await ledger.settle({ receiptId: `bench:${i}`, jobId: `bench${i % jobs}`, contributor: `w${i % 64}`, amount, fee });
        if (!res.paid) throw new Error(`Cannot benchmark as receipt bench:${i} was not paid`);
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
    const ms = performance.now() - t0;
    const summary = await ledger.summary();
    if (summary.total !== summary.minted) {
      throw new Error(`Cannot trust the benchmark as the books do not balance: total ${summary.total}, minted ${summary.minted}`);
    }
    return { settlesPerSec: (n / ms) * 1000, settles: n, conflicts: ledger.stats().conflicts - before, ms };
  } finally {
    await ledger.close();
  }
}
