/**
 * Speculative duplicates of stragglers at the end of a job (MapReduce's backup tasks): once every shard of a job
 * is placed and one of its leased runs is well past the job's median run time, a duplicate of that run is
 * leased to another contributor, on capacity the round left free. The market's rules for the pair:
 *
 * - **First claim wins.** The first of the two runs to claim keeps its lease; the other, still unclaimed, is
 *   released at once (revoked, unpaid, no failure counted). A run of the pair is paid only if it claimed
 *   first: the loser's later claim finds no lease and is refused, so a shard never pays more runs than
 *   verification asks for (one, or two agreeing ones).
 * - **Escrow covers it by construction.** A duplicate is a run that "may be paid" while leased, so it counts in
 *   `committed`, and one is only added while the shard's payable runs stay below MAX_RUNS_PER_SHARD.
 * - **Nobody can farm it.** A duplicate never goes to a contributor that holds, held or is barred from the
 *   shard (job.exclusions), nor to one on a network of the shard's runs (job.networks), at most one duplicate
 *   per run and one live per shard, and only once every shard of the job is placed: a peer that stalls gains nothing (only one of the pair is paid, and a stalled loser is paid nothing) and
 *   cannot choose who gets the duplicate (the matcher does, by score or at random for verifiers).
 *
 * Cost: the tail test is O(1) per job; finding stragglers scans a fully placed job's shards, at most once per
 * SCAN_EVERY_MS per job.
 */
import type { MatchRun } from '../../src/core/matcher.ts';
import { type Job, MAX_RUNS_PER_SHARD, type Run } from './job.ts';
import { shardOffer } from './matching.ts';

/** A leased run is a straggler once older than this many times the job's median run time. */
export const SLOW_FACTOR = 2;
/** Claimed runs a job needs before its median means anything. */
export const MIN_SAMPLES = 3;
/** Run times kept per job for the median (its first claimed runs). */
const SAMPLES = 63;
/** Least time between two straggler scans of one job. */
const SCAN_EVERY_MS = 50;
/** When a straggler found no contributor for its duplicate, the next look (with no other event). */
const RETRY_MS = 250;

interface JobTimes {
  samples: number[];
  scannedAt: number;
}

/** A straggler to duplicate: the run, its shard, and what the matcher needs to place the duplicate. */
export interface Straggler {
  job: Job;
  shard: number;
  run: Run;
  offer: MatchRun;
}

/** Run times and straggler detection for the market's running jobs. */
export class Speculation {
  readonly #times = new WeakMap<Job, JobTimes>();

  /** Records the lease-to-claim time of a run of `job`. */
  recordRun(job: Job, ms: number): void {
    let t = this.#times.get(job);
    if (!t) this.#times.set(job, t = { samples: [], scannedAt: -Infinity });
    // The first SAMPLES runs, not the latest: in a job's tail the latest claims are the slow runs themselves,
    // and a median of them grows with the stragglers it should expose.
    if (t.samples.length < SAMPLES) t.samples.push(ms);
  }

  /** The job's median run time, once it has MIN_SAMPLES claimed runs. */
  median(job: Job): number | undefined {
    const s = this.#times.get(job)?.samples;
    if (!s || s.length < MIN_SAMPLES) return undefined;
    const sorted = [...s].sort((a, b) => a - b);
    return sorted[sorted.length >> 1];
  }

  /**
   * Stragglers of `jobs` to duplicate now, and when the next run becomes one (ms from `now`) so the market
   * can look again without another event.
   */
  find(jobs: Iterable<Job>, now: number, rtt?: (client: string) => ReadonlyMap<string, number> | undefined): { stragglers: Straggler[]; nextInMs?: number } {
    const out: Straggler[] = [];
    let nextAt = Infinity;
    for (const job of jobs) {
      if (!inTail(job)) continue;
      const median = this.median(job);
      const t = this.#times.get(job);
      if (median === undefined || !t || now - t.scannedAt < SCAN_EVERY_MS) {
        if (t && median !== undefined) nextAt = Math.min(nextAt, t.scannedAt + SCAN_EVERY_MS);
        continue;
      }
      t.scannedAt = now;
      const slowAfter = SLOW_FACTOR * Math.max(1, median);
      job.shards.forEach((s, i) => {
        if (s.done || !canDuplicate(s.runs)) return;
        for (const run of s.runs) {
          if (run.state !== 'leased' || run.twinOf !== undefined || (run.role !== 'primary' && run.role !== 'replica')) continue;
          const due = run.startedAt + slowAfter;
          if (due > now) nextAt = Math.min(nextAt, due);
          else {
            out.push({ job, shard: i, run, offer: offerFor(job, i, run, rtt?.(job.client)) });
            // No free contributor may take it this round: look again (once placed, its twin ends the search).
            nextAt = Math.min(nextAt, now + RETRY_MS);
          }
        }
      });
    }
    return nextAt === Infinity ? { stragglers: out } : { stragglers: out, nextInMs: Math.max(0, nextAt - now) };
  }
}

/**
 * Every shard placed (none waits for a run) and some not done. Duplicates are matched after the round, on the
 * capacity no queued run took, so they never delay another job's first runs; waiting for the last few shards
 * (TAIL_SHARDS, TAIL_FRACTION) left a straggler that took an early shard holding the job for ten times the median.
 */
function inTail(job: Job): boolean {
  if (job.state !== 'running' || job.pending.size > 0) return false;
  return job.shards.length - job.doneCount > 0;
}

/** No duplicate live on the shard yet, and room for one more payable run. */
function canDuplicate(runs: readonly Run[]): boolean {
  let payable = 0;
  for (const r of runs) {
    if (r.twinOf !== undefined && r.state === 'leased') return false;
    if (r.state !== 'rejected') payable++;
  }
  return payable + 1 <= MAX_RUNS_PER_SHARD;
}

/**
 * The duplicate as the matcher sees it: a primary is placed by score, a replica's twin like any verifier; both
 * off every network the shard's runs came from. A primary's duplicate that won on the network of the shard's
 * replica would leave the two runs compared with each other on one network (one person's sybils could then
 * "verify" each other), and one on the straggler's own network would let a household's peers pass the shard
 * between them.
 */
function offerFor(job: Job, i: number, run: Run, rtt?: ReadonlyMap<string, number>): MatchRun {
  const primary = run.role === 'primary';
  return { ...shardOffer(job, i, primary ? 'primary' : 'verifier', rtt), avoidNetworks: job.networks(i), credibleOnly: !primary };
}

/** The other run of a speculative pair that `run` belongs to, while it is still unclaimed. */
export function leasedTwin(runs: readonly Run[], run: Run): Run | undefined {
  for (const r of runs) {
    if (r === run || r.state !== 'leased') continue;
    if (r.lease.leaseId === run.twinOf || r.twinOf === run.lease.leaseId) return r;
  }
  return undefined;
}
