/**
 * Optimistic-concurrency loop for Deno KV: read, decide, commit an atomic operation guarded by `.check()`s on
 * what was read, and start over when a concurrent writer got there first.
 */
import { MeshError } from '../../src/protocol/errors.ts';

/** What one attempt decided: an atomic operation to commit, or a result that needs no write. */
export type Attempt<T> = { op: Deno.AtomicOperation; result: T } | { op?: undefined; result: T };

/** Counters a ledger exposes for metrics. */
export interface RetryStats {
  /** Atomic operations committed. */
  commits: number;
  /** Commits rejected because a checked key changed (each followed by a retry). */
  conflicts: number;
}

/** Retry policy; defaults suit one process with up to a few hundred concurrent writers to one key. */
export interface RetryPolicy {
  maxAttempts: number;
  /** Upper bound of the first backoff in ms; doubles per attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Default retry policy: 50 attempts, jittered backoff from 1 ms up to 25 ms. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 50, baseDelayMs: 1, maxDelayMs: 25 };

/**
 * Runs `attempt` until its operation commits. Errors thrown by `attempt` (insufficient funds, a closed
 * escrow) end the loop at once: they describe the state, and a retry would see the same state.
 */
export async function commitWithRetry<T>(
  what: string,
  attempt: () => Promise<Attempt<T>>,
  stats: RetryStats,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let i = 0; i < policy.maxAttempts; i++) {
    const decided = await attempt();
    if (!decided.op) return decided.result;
    const res = await decided.op.commit();
    if (res.ok) {
      stats.commits++;
      return decided.result;
    }
    stats.conflicts++;
    // Full jitter: concurrent losers spread out instead of colliding again on the next tick.
    const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** i);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
  }
  throw new MeshError(
    'conflict',
    `Cannot ${what} as every attempt conflicted with a concurrent write: current attempt limit is ${policy.maxAttempts}`,
  );
}
