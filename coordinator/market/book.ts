/**
 * The market's job book: running jobs in price-time priority order, what each client has running (for the
 * per-client caps), and a short summary of recently finished jobs (for status queries and late receipts).
 * Finished jobs keep no shards, specs or runs: a summary is a few hundred bytes, bounded in count and age.
 * Their owners may still read the shard-by-shard detail (who ran and was paid for what) for a few minutes,
 * within a budget of RETAINED_DETAIL_RUNS entries over all jobs; big jobs keep none.
 */
import type { JobDetail, JobStatus } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { Job } from './job.ts';
import { detailRuns, jobDetail } from './detail.ts';

/** Finished job summaries kept. */
export const RETAINED_FINAL_JOBS = 10_000;
/** How long a finished job's summary is kept. */
export const RETAINED_FINAL_MS = 60 * 60 * 1000;
/** Shards plus runs of finished jobs whose full detail is kept for their owners (newest first): ~2 MB. */
export const RETAINED_DETAIL_RUNS = 20_000;
/** A finished job larger than this keeps no detail at all (its owner saw it while it ran). */
export const MAX_DETAIL_RUNS_PER_JOB = 5_000;
/** How long a finished job's detail is kept. */
export const RETAINED_DETAIL_MS = 10 * 60 * 1000;

/** What is kept of a finished job. */
export interface FinishedJob {
  client: string;
  status: JobStatus;
  finishedAt: number;
  /** The shard-by-shard detail, while the retention budget keeps it. */
  detail?: JobDetail;
}

/** What a client has running. */
export interface ClientUsage {
  jobs: number;
  shards: number;
  bytes: number;
}

/** Running jobs and finished summaries. */
export class JobBook {
  readonly #running = new Map<string, Job>();
  /** Running jobs sorted by bid (high first), then submission. */
  #order: Job[] = [];
  readonly #finished = new Map<string, FinishedJob>();
  readonly #usage = new Map<string, ClientUsage>();
  #shards = 0;
  #detailRuns = 0;

  /** A running job by id. */
  get(jobId: string): Job | undefined {
    return this.#running.get(jobId);
  }

  /** A finished job's summary. */
  finished(jobId: string): FinishedJob | undefined {
    const f = this.#finished.get(jobId);
    if (f && Date.now() - f.finishedAt > RETAINED_FINAL_MS) {
      this.#drop(jobId);
      return undefined;
    }
    if (f?.detail && Date.now() - f.finishedAt > RETAINED_DETAIL_MS) {
      this.#detailRuns -= detailRuns(f.detail);
      delete f.detail;
    }
    return f;
  }

  /** The client's running job; throws not-found, unauthorized, or conflict when it finished. */
  runningOf(client: string, jobId: string): Job {
    const job = this.#running.get(jobId);
    if (job) {
      if (job.client !== client) throw notOwner(jobId);
      return job;
    }
    const done = this.finished(jobId);
    if (done && done.client === client) throw new MeshError('conflict', `Cannot act on job ${jobId} as it is ${done.status.state}`);
    throw unknown(jobId);
  }

  /** The client's finished job; throws not-found or unauthorized. */
  finishedOf(client: string, jobId: string): FinishedJob {
    const done = this.finished(jobId);
    if (!done) throw unknown(jobId);
    if (done.client !== client) throw notOwner(jobId);
    return done;
  }

  /** A job's status for its owner (running or recently finished). */
  statusFor(client: string, jobId: string): JobStatus {
    const job = this.#running.get(jobId);
    if (job) {
      if (job.client !== client) throw notOwner(jobId);
      return job.status();
    }
    const done = this.finished(jobId);
    if (!done || done.client !== client) throw unknown(jobId);
    return done.status;
  }

  /** A job's shard-by-shard detail for its owner (running, or finished a few minutes ago). */
  detailFor(client: string, jobId: string): JobDetail {
    const job = this.#running.get(jobId);
    if (job) {
      if (job.client !== client) throw notOwner(jobId);
      return jobDetail(job);
    }
    const done = this.finished(jobId);
    if (!done || done.client !== client) throw unknown(jobId);
    if (!done.detail) throw new MeshError('not-found', `Cannot show the detail of job ${jobId}: it finished too long ago or was too large (its status is still known)`);
    return done.detail;
  }

  /** Running jobs in price-time priority order (a snapshot: safe to finish jobs while iterating). */
  byPriority(): readonly Job[] {
    return this.#order;
  }

  /** Running jobs. */
  running(): IterableIterator<Job> {
    return this.#running.values();
  }

  /** Number of running jobs. */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Shards of all running jobs. */
  get runningShards(): number {
    return this.#shards;
  }

  /** What a client has running. */
  usage(client: string): ClientUsage {
    return this.#usage.get(client) ?? { jobs: 0, shards: 0, bytes: 0 };
  }

  /** Adds a running job. */
  add(job: Job): void {
    this.#running.set(job.jobId, job);
    const at = this.#order.findIndex((j) => compareJobs(job, j) < 0);
    this.#order = at < 0 ? [...this.#order, job] : [...this.#order.slice(0, at), job, ...this.#order.slice(at)];
    const u = this.usage(job.client);
    this.#usage.set(job.client, { jobs: u.jobs + 1, shards: u.shards + job.shards.length, bytes: u.bytes + job.bytes });
    this.#shards += job.shards.length;
  }

  /** Moves a job to the finished summaries, forgetting the oldest beyond RETAINED_FINAL_JOBS. */
  finish(job: Job): void {
    if (this.remove(job)) this.record(job);
  }

  /** Drops a running job without a summary (another instance runs it now); false when it was not running. */
  remove(job: Job): boolean {
    if (this.#running.get(job.jobId) !== job) return false;
    this.#running.delete(job.jobId);
    this.#order = this.#order.filter((j) => j !== job);
    this.#shards -= job.shards.length;
    const u = this.usage(job.client);
    if (u.jobs <= 1) this.#usage.delete(job.client);
    else this.#usage.set(job.client, { jobs: u.jobs - 1, shards: u.shards - job.shards.length, bytes: u.bytes - job.bytes });
    return true;
  }

  /** Stores (or refreshes) the summary and detail of a finished job. */
  record(job: Job): void {
    this.#drop(job.jobId);
    const runs = job.shards.reduce((n, s) => n + s.runs.length + 1, 0);
    const keep = runs <= MAX_DETAIL_RUNS_PER_JOB;
    this.#finished.set(job.jobId, { client: job.client, status: job.status(), finishedAt: Date.now(), ...(keep ? { detail: jobDetail(job) } : {}) });
    if (keep) this.#detailRuns += runs;
    while (this.#finished.size > RETAINED_FINAL_JOBS) this.#drop(this.#finished.keys().next().value!);
    const now = Date.now();
    for (const [id, f] of this.#finished) {
      if (this.#detailRuns <= RETAINED_DETAIL_RUNS && now - f.finishedAt <= RETAINED_DETAIL_MS) break;
      if (f.detail) {
        this.#detailRuns -= detailRuns(f.detail);
        delete f.detail;
      }
      if (id === job.jobId) break;
    }
  }

  #drop(jobId: string): void {
    const old = this.#finished.get(jobId);
    if (old?.detail) this.#detailRuns -= detailRuns(old.detail);
    this.#finished.delete(jobId);
  }
}

/** Price-time priority between jobs: higher bid first, then earlier submission. */
export function compareJobs(a: Job, b: Job): number {
  return b.spec.bid - a.spec.bid || a.submittedAt - b.submittedAt || a.seq - b.seq;
}

function notOwner(jobId: string): MeshError {
  return new MeshError('unauthorized', `Cannot act on job ${jobId} as it belongs to another client`);
}

function unknown(jobId: string): MeshError {
  return new MeshError('not-found', `Cannot find job ${jobId}: it never existed, is not yours, or finished long ago`);
}
