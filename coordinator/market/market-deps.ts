/** What the market needs from the coordinator, and the hooks a cluster gives it. */
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { MarketStore } from '../store/types.ts';
import type { MarketLimits } from './admission.ts';
import type { TrustPolicy } from './credibility.ts';
import type { Job, Run } from './job.ts';

/**
 * How long a claimed run keeps its slot of its contributor's capacity (at most the claim window): time for the
 * outputs to travel. A peer claiming at once with a made-up hash holds a slot this long per claim, and each
 * such claim is outvoted or complained about; a longer hold would let verified shards waiting for their
 * second run block the very contributors that must run it.
 */
export const CLAIM_HOLD_MS = 5_000;

/** What the market needs from the coordinator. */
export interface MarketDeps {
  ledger: Ledger;
  /** Sends a frame to a peer's mesh session; false when it has none. */
  notify: (peerId: string, frame: ServerFrame) => boolean;
  feeRate: number;
  leaseMs: number;
  /** After a claim: how long it counts against capacity, and when an unverified, uncontested run is paid. */
  claimWindowMs: number;
  /** How long a verification run may find no eligible contributor at all before verification is waived. */
  replicaWaitMs: number;
  limits?: MarketLimits;
  log: Logger;
  metrics: Metrics;
  /** How far contributors without a record are trusted (default: strangers). */
  trust?: TrustPolicy;
  /** Where running jobs and track records are kept across restarts (none: in memory only). */
  store?: MarketStore;
  /** This instance's name in a cluster ('' alone). */
  instanceId?: string;
  /** Whether a peer has a mesh session (a job is matched only while its client is there to serve it). */
  online?: (peerId: string) => boolean;
  /** How long a client whose session ended may take to come back before its running jobs are cancelled. */
  clientGraceMs?: number;
  /** Source of randomness for sampling and verifier placement (tests may fix it). */
  random?: () => number;
  /** How long a contributor is kept off a shard after each failure of it (default failures.ts BACKOFF_MS; tests shorten it). */
  failureBackoffMs?: readonly number[];
  /** What a cluster of instances adds (cluster/market-link.ts); absent when the coordinator runs alone. */
  cluster?: MarketClusterHooks;
}

/** Hooks a cluster gives the market. */
export interface MarketClusterHooks {
  /** A run of this instance's job left flight (settled, released, rejected, or the job moved away). */
  runEnded(job: Job, run: Run): void;
  /** Another instance owns this job now: the market dropped it; `runs` were in flight. */
  jobMoved(job: Job, runs: readonly Run[]): void;
}
