/**
 * Runs that end without a result — a contributor's own report (`fail`), a client's complaint about an unclaimed
 * lease, a lease that expired — and what they do, so that a broken contributor cannot loop on a shard:
 *
 * - The contributor is kept off that shard for a while (BACKOFF_MS, growing with each failure), so the shard goes
 *   to another contributor first; after RETRY_CAP failures of the same shard it never gets it again.
 * - Its own reports count towards a streak; BREAKER_FAILURES in a row without a claim in between and the
 *   coordinator pauses it (its leases go back to the queue) until it says it is active again. A client's
 *   complaints and expired leases do not count: a client must not be able to pause the contributors it dislikes,
 *   and a lease also expires when its client never sends the inputs.
 * - None of this touches its track record: reputation is for results that disagree with verification.
 */
import type { Job } from './job.ts';

/** Failures of one shard by one contributor before it is barred from that shard. */
export const RETRY_CAP = 3;
/** How long a contributor is kept off a shard after its 1st, 2nd, ... failure of it. */
export const BACKOFF_MS: readonly number[] = [2_000, 10_000, 30_000];
/** Failures in a row (its own reports) before the coordinator pauses a contributor. */
export const BREAKER_FAILURES = 5;
/** Contributors whose streak is tracked at most (the oldest streak is forgotten beyond). */
export const MAX_STREAKS = 100_000;

/** Records a failed run of shard `i` by `contributor`: 'barred' once it reached RETRY_CAP, else 'cooling'. */
export function shardFailed(job: Job, i: number, contributor: string, now: number, backoffMs: readonly number[] = BACKOFF_MS): 'cooling' | 'barred' {
  const s = job.shards[i]!;
  const f = (s.failures ??= new Map()).get(contributor) ?? { count: 0, until: 0 };
  f.count++;
  f.until = now + backoffMs[Math.min(f.count, backoffMs.length) - 1]!;
  s.failures.set(contributor, f);
  if (f.count < RETRY_CAP) return 'cooling';
  job.bar(i, contributor);
  return 'barred';
}

/** The soonest time a contributor cooling off a pending shard of `jobs` may take it again (undefined: none). */
export function nextCoolingEnd(jobs: Iterable<Job>, now: number): number | undefined {
  let soonest: number | undefined;
  for (const job of jobs) {
    for (const i of job.pending) {
      const failures = job.shards[i]!.failures;
      if (!failures) continue;
      for (const f of failures.values()) if (f.until > now && (soonest === undefined || f.until < soonest)) soonest = f.until;
    }
  }
  return soonest;
}

/** Consecutive failures per contributor (the circuit breaker). */
export class FailureStreaks {
  readonly #streaks = new Map<string, number>();

  /** Counts a failure; returns the contributor's streak. */
  failed(peerId: string): number {
    const n = (this.#streaks.get(peerId) ?? 0) + 1;
    this.#streaks.delete(peerId);
    if (this.#streaks.size >= MAX_STREAKS) this.#streaks.delete(this.#streaks.keys().next().value!);
    this.#streaks.set(peerId, n);
    return n;
  }

  /** A claim, or the contributor resumed: the streak starts again. */
  reset(peerId: string): void {
    this.#streaks.delete(peerId);
  }
}
