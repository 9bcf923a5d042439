/**
 * The market's job book: running jobs, recently finished ones (for status queries), the signatures of
 * submitted jobs (so a replayed submit is refused), and the runs the running jobs offer to a matching round.
 */
import type { MatchContributor, MatchRun } from '../../src/core/matcher.ts';
import type { Job } from './job.ts';

/** Finished jobs kept for status queries before the oldest are forgotten. */
export const RETAINED_FINAL_JOBS = 1000;

/** Running and recently finished jobs. */
export class JobBook {
  readonly #jobs = new Map<string, Job>();
  readonly #running = new Map<string, Job>();
  readonly #final: string[] = [];
  readonly #signatures = new Set<string>();

  /** A job by id (running or recently finished). */
  get(jobId: string): Job | undefined {
    return this.#jobs.get(jobId);
  }

  /** Running jobs, in submission order. */
  running(): IterableIterator<Job> {
    return this.#running.values();
  }

  /** A running job by id. */
  getRunning(jobId: string): Job | undefined {
    return this.#running.get(jobId);
  }

  /** Number of running jobs. */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Reserves a job signature; false when that signed job was submitted before. */
  reserve(signature: string): boolean {
    if (this.#signatures.has(signature)) return false;
    this.#signatures.add(signature);
    return true;
  }

  /** Gives a reservation back (the submit failed, e.g. for lack of funds). */
  unreserve(signature: string): void {
    this.#signatures.delete(signature);
  }

  /** Adds a running job. */
  add(job: Job): void {
    this.#jobs.set(job.jobId, job);
    this.#running.set(job.jobId, job);
  }

  /** Moves a job to the finished list, forgetting the oldest beyond RETAINED_FINAL_JOBS. */
  finish(job: Job): void {
    if (!this.#running.delete(job.jobId)) return;
    this.#final.push(job.jobId);
    while (this.#final.length > RETAINED_FINAL_JOBS) {
      const old = this.#jobs.get(this.#final.shift()!);
      if (!old) continue;
      this.#jobs.delete(old.jobId);
      this.#signatures.delete(old.signature);
    }
  }
}

/**
 * The runs the running jobs offer to one matching round. Shards of one job are alike (same kernel, bid and
 * priority), so each job offers only a few times as many runs as there are free slots: a round then costs
 * O(capacity), not O(queue length).
 */
export function pendingRuns(jobs: Iterable<Job>, contributors: readonly MatchContributor[]): MatchRun[] {
  const free = contributors.reduce((n, c) => n + c.maxConcurrent - c.load, 0);
  const perJob = Math.max(64, free * 4);
  const runs: MatchRun[] = [];
  for (const job of jobs) {
    let offered = 0;
    for (const i of job.pending) {
      if (offered >= perJob) break;
      const n = job.needed(i);
      offered += n;
      const exclude = job.exclusions(i);
      const run: MatchRun = { jobId: job.jobId, shard: i, bid: job.spec.bid, submittedAt: job.submittedAt, seq: job.seq, kernel: job.spec.kernel, spec: job.shards[i]!.spec, exclude };
      for (let k = 0; k < n; k++) runs.push(run);
    }
  }
  return runs;
}
