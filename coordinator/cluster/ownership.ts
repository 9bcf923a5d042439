/**
 * Which instance runs which job. Every running job has one owner in the store; only the owner matches, pays and
 * writes it, so no two instances ever assign the same run. Ownership moves in three ways, all by
 * compare-and-set on the store's owner column, so exactly one instance wins:
 *
 * - A client authenticates on another instance (it failed over, or a balancer sent it elsewhere): its jobs
 *   follow it. The new instance asks the owner to hand each over (the owner writes what it has and moves it);
 *   an owner that does not answer within HANDOFF_TIMEOUT_MS is taken from. Should it still be alive, its next
 *   write finds the job gone (fenced) and it drops the job: payments are idempotent per receipt, so the
 *   overlap pays nobody twice.
 * - An owner stops heartbeating (dead after `ttlMs`): every instance sweeps for such orphans each `sweepMs`,
 *   and the one holding the job's client takes it. A job whose client is nowhere is taken by any instance
 *   once its owner has been dead for the client grace too, and cancelled (claimed work paid, the rest refunded).
 * - An owner shuts down cleanly: it leaves the instances table, so its jobs are orphans at once.
 *
 * A job taken over is rebuilt from the store with its runs in flight: leases of contributors still connected
 * anywhere stay valid; those whose contributor does not come back within `contributorGraceMs` are released.
 */
import type { Logger } from '../log.ts';
import type { Job } from '../market/job.ts';
import type { Market } from '../market/market.ts';
import { jobFromStore } from '../market/resume.ts';
import type { MarketStore } from '../store/types.ts';
import type { Rpc } from './rpc.ts';

/** How long the owner of a job has to hand it over before it is taken. */
export const HANDOFF_TIMEOUT_MS = 1_000;
/** Orphans taken per sweep. */
export const SWEEP_BATCH = 100;
/** Jobs of one client looked at when it authenticates. */
export const CLIENT_JOBS = 100;

/** Liveness settings. */
export interface OwnershipTiming {
  heartbeatMs: number;
  /** An instance silent this long is dead. */
  ttlMs: number;
  sweepMs: number;
  contributorGraceMs: number;
  clientGraceMs: number;
}

/** What ownership needs. */
export interface OwnershipDeps {
  me: string;
  /** Where peers reach this instance (known once it listens). */
  url: () => string;
  store: MarketStore;
  market: Market;
  rpc: Rpc;
  log: Logger;
  timing: OwnershipTiming;
  /** Whether a peer has a mesh session on this instance. */
  local(peerId: string): boolean;
  /** A job came here (the link updates its leases and tells the cluster). */
  adopted(job: Job): void;
  /** Instances that died since the last check. */
  died(instances: readonly string[]): void;
}

/** Heartbeats, liveness and the moves of jobs between instances. */
export class Ownership {
  #live = new Set<string>();
  #ages = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping = false;
  readonly #taking = new Map<string, Promise<boolean>>();
  readonly #graceTimers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(private readonly d: OwnershipDeps) {
    d.rpc.handle('handoff', async (from, body) => {
      const jobId = (body as { jobId?: unknown } | null)?.jobId;
      if (typeof jobId !== 'string') throw new TypeError("Cannot hand over a job without a string 'jobId'");
      const moved = await this.d.market.surrender(jobId, from);
      if (moved) this.d.log.info('handed a job over', { jobId, to: from });
      return { moved };
    });
  }

  /** Instances alive at the last heartbeat (this one included). */
  get live(): ReadonlySet<string> {
    return this.#live;
  }

  /** First heartbeat, then the heartbeat and sweep loop. */
  async start(): Promise<void> {
    await this.#beat();
    const every = Math.min(this.d.timing.heartbeatMs, this.d.timing.sweepMs);
    let last = 0;
    this.#timer = setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = true;
      const now = Date.now();
      const sweep = now - last >= this.d.timing.sweepMs;
      if (sweep) last = now;
      this.#beat()
        .then(() => (sweep ? this.#sweep() : undefined))
        .catch((err) => this.d.log.warn('cluster heartbeat or sweep failed', { err }))
        .finally(() => (this.#sweeping = false));
    }, every);
  }

  /** Stops the loop and leaves the instances table (this instance's jobs become orphans at once). */
  async stop(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const t of this.#graceTimers) clearTimeout(t);
    await Promise.allSettled([...this.#taking.values()]);
    await this.d.store.forgetInstance(this.d.me).catch((err) => this.d.log.warn('leaving the instances table failed', { err }));
  }

  /** Stops the loop without leaving the instances table (a simulated crash). */
  halt(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const t of this.#graceTimers) clearTimeout(t);
  }

  /** A client authenticated here: its running jobs owned elsewhere move here (awaited before its welcome). */
  async clientArrived(peerId: string): Promise<void> {
    const jobs = await this.d.store.jobsOfClient(peerId, CLIENT_JOBS);
    await Promise.all(jobs.filter((j) => j.owner !== this.d.me).map((j) => this.take(j.jobId, j.owner)));
  }

  /** Takes a job from `from` (asking first when it is alive); true when it runs here now. */
  take(jobId: string, from: string): Promise<boolean> {
    let p = this.#taking.get(jobId);
    if (!p) {
      p = this.#take(jobId, from).finally(() => this.#taking.delete(jobId));
      this.#taking.set(jobId, p);
    }
    return p;
  }

  async #take(jobId: string, from: string): Promise<boolean> {
    if (this.#closed || this.d.market.job(jobId)) return false;
    let moved = false;
    if (this.#live.has(from) && from !== this.d.me) {
      try {
        moved = (await this.d.rpc.request<{ moved: boolean }>(from, 'handoff', { jobId }, HANDOFF_TIMEOUT_MS)).moved;
      } catch (err) {
        this.d.log.warn('owner did not hand a job over; taking it', { jobId, owner: from, err: (err as Error).message });
      }
    }
    if (!moved) moved = await this.d.store.moveJob(jobId, from, this.d.me);
    if (!moved) return false;
    const stored = await this.d.store.loadJob(jobId);
    if (!stored || stored.job.owner !== this.d.me) return false;
    const job = jobFromStore(stored.job, stored.shards);
    this.d.market.adopt(job);
    this.d.adopted(job);
    this.d.log.info('took over a job', { jobId, from });
    const t = setTimeout(() => {
      this.#graceTimers.delete(t);
      this.d.market.releaseAbsent('contributor did not come back after its job moved');
    }, this.d.timing.contributorGraceMs);
    this.#graceTimers.add(t);
    return true;
  }

  async #beat(): Promise<void> {
    await this.d.store.heartbeat(this.d.me, this.d.url());
    const instances = await this.d.store.instances();
    const live = new Set<string>([this.d.me]);
    this.#ages.clear();
    for (const i of instances) {
      this.#ages.set(i.id, i.ageMs);
      if (i.ageMs < this.d.timing.ttlMs) live.add(i.id);
    }
    const died = [...this.#live].filter((i) => !live.has(i));
    this.#live = live;
    if (died.length > 0) {
      this.d.log.warn('instances stopped heartbeating', { instances: died });
      this.d.died(died);
    }
  }

  /** Takes orphans whose client is here, and those whose client has been gone past the grace (to end them). */
  async #sweep(): Promise<void> {
    const orphans = await this.d.store.orphans([...this.#live], SWEEP_BATCH);
    for (const o of orphans) {
      if (this.#closed) return;
      if (this.d.local(o.client)) {
        await this.take(o.jobId, o.owner);
        continue;
      }
      const age = this.#ages.get(o.owner) ?? Infinity;
      if (age < this.d.timing.ttlMs + this.d.timing.clientGraceMs) continue;
      if (!(await this.take(o.jobId, o.owner))) continue;
      const job = this.d.market.job(o.jobId);
      if (job && !this.d.local(job.client)) {
        this.d.log.info('cancelling an orphaned job whose client did not come back', { jobId: o.jobId });
        await this.d.market.finalize(job, 'cancelled');
      }
    }
  }
}
