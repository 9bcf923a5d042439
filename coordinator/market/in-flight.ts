/**
 * Runs in flight (leased, claimed or contested) by lease id, and what they count against their
 * contributors: a leased run against its capacity (`load`), a claimed or contested one against its unpaid cap
 * (and against capacity for a short hold, which the market sets with the claim). Removing a run stops its
 * timers and frees its counts, in one place, whatever ended it.
 */
import type { Contributor, ContributorRegistry } from './contributors.ts';
import type { Job, Run } from './job.ts';

/** A run with its job and shard. */
export interface RunRef {
  job: Job;
  shard: number;
  run: Run;
}

/** The in-flight index. */
export class InFlight {
  readonly #runs = new Map<string, RunRef>();

  constructor(
    private readonly registry: ContributorRegistry,
    /** A contributor's capacity freed (the market looks for work). */
    private readonly freed: () => void,
    /** A run left flight (a cluster tells its contributor's home). */
    private readonly ended: (job: Job, run: Run) => void,
  ) {}

  get(leaseId: string): RunRef | undefined {
    return this.#runs.get(leaseId);
  }

  has(leaseId: string): boolean {
    return this.#runs.has(leaseId);
  }

  values(): IterableIterator<RunRef> {
    return this.#runs.values();
  }

  /** Adds a run (new, resumed, or taken over), counted against its contributor when it is registered. */
  add(ref: RunRef): void {
    this.#runs.set(ref.run.lease.leaseId, ref);
    const c = this.registry.get(ref.run.lease.contributor);
    if (c) count(c, ref.run);
  }

  /** Counts again the runs a contributor held before it (re)registered. */
  countFor(c: Contributor): void {
    for (const { run } of this.#runs.values()) if (run.lease.contributor === c.peerId) count(c, run);
  }

  /** Removes a run: stops its timers, frees its contributor's counts, and says it ended if it was in flight. */
  forget(ref: RunRef): void {
    const { run } = ref;
    stopTimers(run);
    const inFlight = this.#runs.delete(run.lease.leaseId);
    const c = this.registry.get(run.lease.contributor);
    if (c?.load.delete(run.lease.leaseId)) this.freed();
    c?.unpaid.delete(run.lease.leaseId);
    if (inFlight) this.ended(ref.job, run);
  }

  /**
   * Removes a job's runs without ending them (another instance runs the job now) and returns them. The counts
   * of contributors served here stay (the cluster link keeps them for the new owner); others' are dropped.
   */
  detachJob(job: Job): Run[] {
    const runs: Run[] = [];
    for (const s of job.shards) {
      for (const run of s.runs) {
        if (this.#runs.get(run.lease.leaseId)?.run !== run) continue;
        runs.push(run);
        stopTimers(run);
        this.#runs.delete(run.lease.leaseId);
        const c = this.registry.get(run.lease.contributor);
        if (c?.home !== undefined) {
          c.load.delete(run.lease.leaseId);
          c.unpaid.delete(run.lease.leaseId);
        }
      }
    }
    return runs;
  }
}

function count(c: Contributor, run: Run): void {
  if (run.state === 'leased') c.load.add(run.lease.leaseId);
  else c.unpaid.add(run.lease.leaseId);
}

function stopTimers(run: Run): void {
  clearTimeout(run.timer);
  clearTimeout(run.holdTimer);
  delete run.timer;
  delete run.holdTimer;
}
