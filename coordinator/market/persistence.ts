/**
 * Writes the market's state to its store as it changes, and reads it back on start. A job is written in full
 * when admitted (awaited: a client is told its job was accepted only once it is stored); after that, each
 * shard that changed is written within FLUSH_MS, in one batch per job, and track records likewise. Writes that
 * fail are retried with the next batch. See store/types.ts for why a few milliseconds of lag is safe.
 */
import type { Logger } from '../log.ts';
import type { MarketStore, StoredCredibility, StoredJob, StoredShard } from '../store/types.ts';
import type { CredibilityRecord } from './credibility.ts';
import type { Job, ShardRecord } from './job.ts';

/** Longest a changed shard waits before it is written. */
export const FLUSH_MS = 10;

/** Write-behind of the market's state. */
export class MarketPersistence {
  readonly #dirty = new Map<Job, Set<number>>();
  readonly #records = new Map<string, CredibilityRecord>();
  readonly #waiters = new Map<Job, { resolve: () => void; reject: (err: Error) => void }[]>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /** Told when a write found the job owned by another instance (cluster takeover): this one must drop it. */
  onLost: ((job: Job) => void) | undefined;

  constructor(readonly store: MarketStore, private readonly log: Logger, readonly owner = '') {}

  /** Writes an admitted job in full. */
  async admitted(job: Job): Promise<void> {
    await this.store.putJob(storedJob(job, this.owner));
  }

  /** Shard `i` of a running job changed. */
  shardChanged(job: Job, i: number): void {
    let set = this.#dirty.get(job);
    if (!set) this.#dirty.set(job, set = new Set());
    set.add(i);
    this.#schedule();
  }

  /**
   * Resolves once the job's changes made so far are written (a claim is acknowledged only when stored: a
   * contributor told its claim counts must find it after a crash). Rejects when that write fails.
   */
  written(job: Job): Promise<void> {
    return new Promise((resolve, reject) => {
      let list = this.#waiters.get(job);
      if (!list) this.#waiters.set(job, list = []);
      list.push({ resolve, reject });
      this.#schedule();
    });
  }

  /** A contributor's record changed. */
  recordChanged(peerId: string, record: CredibilityRecord): void {
    this.#records.set(peerId, record);
    this.#schedule();
  }

  /** A job ended: its state is dropped from the store (its money stays in the ledger). */
  async ended(job: Job): Promise<void> {
    this.#dirty.delete(job);
    await this.#flushing;
    await this.store.endJob(job.jobId).catch((err) => this.log.error('forgetting a finished job in the store failed', { jobId: job.jobId, err }));
  }

  /** Writes a job's pending shard changes now; false when another instance owns it. */
  async flushJob(job: Job): Promise<boolean> {
    await this.#flushing;
    const shards = this.#dirty.get(job) ?? new Set<number>();
    this.#dirty.delete(job);
    return await this.store.putShards(job.jobId, [...shards].map((i) => [i, storedShard(job.shards[i]!)] as const), this.owner);
  }

  /** Forgets everything pending, unwritten (a simulated crash). */
  drop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dirty.clear();
    this.#records.clear();
    for (const list of this.#waiters.values()) list.forEach((w) => w.reject(new Error('Cannot store the change as the coordinator stopped')));
    this.#waiters.clear();
  }

  /** Writes everything pending now (shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await (this.#flushing = this.#flushing.then(() => this.#write()));
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flushing = this.#flushing.then(() => this.#write());
    }, FLUSH_MS);
  }

  async #write(): Promise<void> {
    const jobs = [...this.#dirty];
    this.#dirty.clear();
    const waiters = new Map(this.#waiters);
    this.#waiters.clear();
    for (const [job, shards] of jobs) {
      const waiting = waiters.get(job) ?? [];
      waiters.delete(job);
      if (job.state !== 'running') {
        waiting.forEach((w) => w.resolve());
        continue;
      }
      try {
        const mine = await this.store.putShards(job.jobId, [...shards].map((i) => [i, storedShard(job.shards[i]!)] as const), this.owner);
        if (!mine && job.state === 'running') {
          this.log.warn('another instance took over a job this one ran', { jobId: job.jobId });
          this.onLost?.(job);
          waiting.forEach((w) => w.reject(new Error(`Cannot store the change of job ${job.jobId} as another instance runs it now`)));
        } else {
          waiting.forEach((w) => w.resolve());
        }
      } catch (err) {
        this.log.error('writing shard state failed; retrying', { jobId: job.jobId, err });
        for (const i of shards) this.shardChanged(job, i);
        waiting.forEach((w) => w.reject(err as Error));
      }
    }
    for (const list of waiters.values()) list.forEach((w) => w.resolve());
    if (this.#records.size === 0) return;
    const records = [...this.#records].map(([id, r]) => [id, storedRecord(r)] as const);
    this.#records.clear();
    await this.store.putCredibility(records).catch((err) => this.log.error('writing track records failed', { err }));
  }
}

/** A job's header as stored. */
export function storedJob(job: Job, owner: string): StoredJob {
  const sampled: number[] = [];
  job.shards.forEach((s, i) => s.sampled && sampled.push(i));
  return {
    jobId: job.jobId,
    client: job.client,
    spec: job.spec,
    seq: job.seq,
    submittedAt: job.submittedAt,
    escrow: job.escrow,
    feeRate: job.feeRate,
    bytes: job.bytes,
    sampled,
    owner,
  };
}

/** A shard's state as stored. */
export function storedShard(s: ShardRecord): StoredShard {
  const out: StoredShard = {
    verify: s.verify,
    waived: s.waived,
    tiebreak: s.tiebreak,
    done: s.done,
    runs: s.runs.map((r) => {
      const run: StoredShard['runs'][number] = { lease: r.lease, role: r.role, network: r.network, startedAt: r.startedAt, state: r.state };
      if (r.claim) run.claim = r.claim;
      if (r.receipt) run.receipt = r.receipt;
      if (r.twinOf !== undefined) run.twinOf = r.twinOf;
      return run;
    }),
  };
  if (s.acceptedHash !== undefined) out.acceptedHash = s.acceptedHash;
  if (s.barred?.size) out.barred = [...s.barred];
  return out;
}

function storedRecord(r: CredibilityRecord): StoredCredibility {
  const out: StoredCredibility = { agreements: r.agreements, failures: r.failures, recentFailures: r.recentFailures, quarantinedUntil: r.quarantinedUntil, paid: r.paid, seen: r.seen };
  if (r.speed !== undefined) out.speed = r.speed;
  return out;
}
