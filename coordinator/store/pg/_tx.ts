/**
 * Runs a ledger operation as one transaction and retries it when PostgreSQL aborted it for a reason a retry
 * can cure: a serialization failure, a deadlock between row locks taken in different orders, or a unique key
 * a concurrent transaction inserted first (a receipt paid by another instance: the retry reads it).
 */
import { MeshError } from '../../../src/protocol/errors.ts';
import { DEFAULT_RETRY, type RetryPolicy, type RetryStats } from '../../ledger/mod.ts';
import { type Sql, sqlState, type TxSql } from './connect.ts';

/** serialization_failure, deadlock_detected, unique_violation. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);

/** Whether an error from PostgreSQL is cured by running the transaction again. */
export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has(sqlState(err) ?? '');
}

/**
 * Runs `body` in a transaction until it commits; other errors (MeshErrors describing the state, constraint
 * violations) end the loop at once. After `policy.maxAttempts` retryable aborts throws MeshError('conflict').
 */
export async function transact<T>(
  sql: Sql,
  what: string,
  body: (tx: TxSql) => Promise<T>,
  stats: RetryStats,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let i = 0; i < policy.maxAttempts; i++) {
    try {
      const result = (await sql.begin(body)) as T;
      stats.commits++;
      return result;
    } catch (err) {
      if (!isRetryable(err)) throw err;
      stats.conflicts++;
      // Full jitter, as for KV commits: concurrent losers spread out instead of colliding again.
      const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** i);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }
  throw new MeshError(
    'conflict',
    `Cannot ${what} as every attempt conflicted with a concurrent write: current attempt limit is ${policy.maxAttempts}`,
  );
}
