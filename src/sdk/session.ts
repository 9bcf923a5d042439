/** What the SDK's parts share for one connection: identity, coordinator session, peer links, config. */
import type { Identity } from '../core/identity.ts';
import type { MeshConfig } from '../mesh/config.ts';
import type { CoordinatorClient, PushFrame } from '../mesh/coordinator-client.ts';
import type { PeerNetwork } from '../mesh/peer-network.ts';

/** The shared state of one `connect()`. */
export interface SessionContext {
  /** Base URL of the coordinator in use (it changes when the session moves to another of its cluster). */
  readonly base: string;
  identity: Identity;
  config: MeshConfig;
  coordinator: CoordinatorClient;
  network: PeerNetwork;
  /** Tells the page's Mesh that the balance changed (to `balance`, or unknown: it asks the coordinator). */
  balanceChanged(balance?: number): void;
}

/** Client-side pushes about one job. */
export type JobPush = Extract<PushFrame, { type: 'assigned' | 'released' | 'job' | 'verdict' | 'waiting' }>;

/** Receives the pushes of one job. */
export interface JobListener {
  onPush(frame: JobPush): void;
}

/** Largest number of pushes kept for a job id nobody registered yet. */
const MAX_ORPHANS_PER_JOB = 1024;
/** Milliseconds orphan pushes are kept. */
const ORPHAN_TTL_MS = 60_000;

/**
 * Routes `assigned`/`released`/`job`/`verdict`/`waiting` pushes to the run of their job. The coordinator may push a job's first
 * lease before the `submit` answer reaches us, so pushes for a job id not yet registered wait a while.
 */
export class JobRouter {
  readonly #jobs = new Map<string, JobListener>();
  readonly #orphans = new Map<string, { frames: JobPush[]; timer: ReturnType<typeof setTimeout> }>();

  constructor(coordinator: CoordinatorClient) {
    for (const type of ['assigned', 'released', 'job', 'verdict', 'waiting'] as const) {
      coordinator.addEventListener(type, (e) => this.route((e as CustomEvent<JobPush>).detail));
    }
  }

  /** Delivers a push to its job, or keeps it until the job registers. */
  route(frame: JobPush): void {
    const jobId = frame.type === 'assigned' ? frame.lease.jobId : frame.type === 'job' ? frame.status.jobId : frame.jobId;
    const job = this.#jobs.get(jobId);
    if (job) {
      job.onPush(frame);
      return;
    }
    let orphan = this.#orphans.get(jobId);
    if (!orphan) {
      orphan = { frames: [], timer: setTimeout(() => this.#orphans.delete(jobId), ORPHAN_TTL_MS) };
      this.#orphans.set(jobId, orphan);
    }
    if (orphan.frames.length < MAX_ORPHANS_PER_JOB) orphan.frames.push(frame);
  }

  /** Registers a job's listener and hands it what arrived early. */
  register(jobId: string, listener: JobListener): void {
    this.#jobs.set(jobId, listener);
    const orphan = this.#orphans.get(jobId);
    if (orphan) {
      clearTimeout(orphan.timer);
      this.#orphans.delete(jobId);
      for (const frame of orphan.frames) listener.onPush(frame);
    }
  }

  /** Stops routing a job's pushes. */
  unregister(jobId: string): void {
    this.#jobs.delete(jobId);
  }

  /** Drops everything (the session closed). */
  clear(): void {
    for (const o of this.#orphans.values()) clearTimeout(o.timer);
    this.#orphans.clear();
    this.#jobs.clear();
  }
}
