/**
 * Messages between the throughput phase (throughput.ts, main thread) and its load Workers (load-worker.ts).
 * Plain data with a tag; the only things transferred are the MessagePorts that join every pair of Workers, over
 * which a contributor's Worker hands an acknowledged claim to the Worker of the job's client.
 */
import type { ContributorLease } from '../../src/protocol/coordinator.ts';

/** The load one Worker carries. */
export interface LoadPlan {
  index: number;
  /** Base URLs of the instances. */
  urls: string[];
  /** Instance index of each contributor this Worker runs. */
  contributors: number[];
  /** Instance index of each client this Worker runs. */
  clients: number[];
  maxConcurrent: number;
  shards: number;
  items: number;
  bid: number;
  /** Jobs each client keeps running. */
  jobsInFlight: number;
}

/** Main thread to Worker. */
export type ToWorker =
  | { t: 'init'; plan: LoadPlan }
  /** Which Worker runs each client, and a port to every other Worker (null at the Worker's own index). */
  | { t: 'wire'; routes: Record<string, number>; ports: (MessagePort | null)[] }
  /** Start submitting; count events whose time (Date.now()) falls in [from, to). */
  | { t: 'start'; from: number; to: number }
  /** Claim nothing more (pays of acknowledged claims go on); answer 'quiet' once no claim is in flight. */
  | { t: 'stop' }
  /** Answer 'done' once no request is in flight, then close every socket. */
  | { t: 'finish' };

/** Worker to main thread. */
export type FromWorker =
  | { t: 'ready'; clients: string[] }
  | { t: 'wired' }
  | { t: 'quiet' }
  | { t: 'done'; stats: WorkerStats }
  | { t: 'failed'; message: string };

/** Worker to Worker: a claim the coordinator acknowledged, for the job's client to pay. */
export interface Claimed {
  lease: ContributorLease;
  hash: string;
}

/** What one Worker saw. */
export interface WorkerStats {
  /** In the window: `assign` frames, acknowledged claims, receipts that returned paid:true. */
  window: { assigns: number; claims: number; settled: number };
  /** Over the whole phase. */
  total: { assigns: number; claims: number; settled: number; notPaid: number; paidAmount: number; paidFees: number; jobsSubmitted: number; jobsDone: number };
  /** Milliseconds from sending to the reply, in the window. */
  claimMs: number[];
  payMs: number[];
  /** Refusals by error code. */
  errors: Record<string, number>;
}
