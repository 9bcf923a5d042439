/**
 * What a coordinator keeps beyond its process: the ledger (coordinator/ledger/types.ts) and the market's
 * state, so that a restarted instance, or another instance of a cluster, resumes running jobs instead of
 * refunding them. Two engines implement it: Deno KV (embedded, one process) and PostgreSQL (a cluster).
 *
 * A job is written once in full when it is admitted (its spec, escrow and sampled shards), then each shard's
 * state (flags and runs) is written whenever it changes. Shard writes are batched by the market (a few
 * milliseconds of changes per write): the ledger, not this store, is the source of truth for money, and it is
 * idempotent per receipt, so a change lost in a crash at worst re-offers a shard or re-sends a payment that
 * pays nothing.
 */
import type { JobSpec, Lease, Receipt } from '../../src/protocol/coordinator.ts';

/** A run as stored. */
export interface StoredRun {
  lease: Lease;
  role: 'primary' | 'replica' | 'tiebreak' | 'arbiter';
  network: string;
  startedAt: number;
  state: 'leased' | 'claimed' | 'contested' | 'paid' | 'rejected';
  claim?: { outputHash: string; at: number; signature: string };
  receipt?: { receipt: Receipt; signature: string };
}

/** A shard's state as stored (the spec is the job's). */
export interface StoredShard {
  verify: boolean;
  waived: boolean;
  tiebreak: boolean;
  done: boolean;
  acceptedHash?: string;
  barred?: string[];
  runs: StoredRun[];
}

/** A running job's header as stored. */
export interface StoredJob {
  jobId: string;
  client: string;
  spec: JobSpec;
  seq: number;
  submittedAt: number;
  escrow: number;
  feeRate: number;
  /** Characters of its submit frame (the client's byte cap). */
  bytes: number;
  /** Shards the client's verifyFraction sampled. */
  sampled: number[];
  /** The instance running it (clusters); '' for the embedded engine. */
  owner: string;
}

/** A contributor's track record as stored (see market/credibility.ts). */
export interface StoredCredibility {
  agreements: number;
  failures: number;
  recentFailures: number;
  quarantinedUntil: number;
  paid: number;
  speed?: number;
  seen: number;
}

/** The market's persistent state. */
export interface MarketStore {
  /** Saves an admitted job (before its client hears it was accepted). */
  putJob(job: StoredJob): Promise<void>;
  /** Saves the state of some shards of a running job, in one write. */
  putShards(jobId: string, shards: readonly (readonly [number, StoredShard])[]): Promise<void>;
  /** Forgets a job that ended (its escrow and payments stay in the ledger). */
  endJob(jobId: string): Promise<void>;
  /** Running jobs (of `owner`, or all), with every shard's state (a shard never written has its initial state). */
  runningJobs(owner?: string): AsyncIterable<{ job: StoredJob; shards: Map<number, StoredShard> }>;
  /** Whether a running job with this id is stored. */
  hasJob(jobId: string): Promise<boolean>;
  /** Saves track records. */
  putCredibility(records: readonly (readonly [string, StoredCredibility])[]): Promise<void>;
  /** Every stored track record. */
  credibility(): AsyncIterable<[string, StoredCredibility]>;
}
