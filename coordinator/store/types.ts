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
import type { Capabilities } from '../../src/protocol/capabilities.ts';

/** A run as stored. */
export interface StoredRun {
  lease: Lease;
  role: 'primary' | 'replica' | 'tiebreak' | 'arbiter';
  network: string;
  startedAt: number;
  state: 'leased' | 'claimed' | 'contested' | 'paid' | 'rejected';
  claim?: { outputHash: string; at: number; signature: string };
  receipt?: { receipt: Receipt; signature: string };
  /** A speculative duplicate: the lease id of the run it races. */
  twinOf?: string;
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

/** A contributor as the cluster sees it: one row of the registry, served by its home instance. */
export interface StoredContributor {
  peerId: string;
  /** The instance holding its mesh session. */
  home: string;
  caps: Capabilities;
  askPrice: number;
  maxConcurrent: number;
  state: 'active' | 'paused';
  network: string;
  placement: string;
  /** When it registered at its home (epoch ms): a later registration elsewhere supersedes this one. */
  registeredAt: number;
}

/** A coordinator instance of a cluster, as its heartbeats record it. */
export interface StoredInstance {
  id: string;
  /** Where peers reach it (its public base URL), for operators and failover lists. */
  url: string;
  /** Milliseconds since its last heartbeat, by the store's clock (so instances' clocks need not agree). */
  ageMs: number;
}

/** A running job's owner, as listed for takeover. */
export interface JobOwner {
  jobId: string;
  client: string;
  owner: string;
}

/** The market's persistent state. */
export interface MarketStore {
  /** Saves an admitted job (before its client hears it was accepted). */
  putJob(job: StoredJob): Promise<void>;
  /**
   * Saves the state of some shards of a running job, in one write, while `owner` still owns it (default: any
   * owner). False, writing nothing, when the job is gone or another instance took it over: the caller lost it.
   */
  putShards(jobId: string, shards: readonly (readonly [number, StoredShard])[], owner?: string): Promise<boolean>;
  /** One running job with every shard's state, or undefined. */
  loadJob(jobId: string): Promise<{ job: StoredJob; shards: Map<number, StoredShard> } | undefined>;
  /** The instance owning a running job, or undefined when no such job runs. */
  ownerOf(jobId: string): Promise<string | undefined>;
  /** Gives a running job to `to` if its owner is still `from` (compare-and-set); true when it moved. */
  moveJob(jobId: string, from: string, to: string): Promise<boolean>;
  /** Running jobs of one client, whoever owns them (at most `limit`). */
  jobsOfClient(client: string, limit: number): Promise<JobOwner[]>;
  /** Running jobs whose owner is none of `live` (at most `limit`, oldest first). */
  orphans(live: readonly string[], limit: number): Promise<JobOwner[]>;
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
  /** The stored track records of some contributors (those without one are absent). */
  credibilityOf(peerIds: readonly string[]): Promise<Map<string, StoredCredibility>>;
  /** Records that an instance is alive (creates its row on the first call). */
  heartbeat(id: string, url: string): Promise<void>;
  /** Every instance that ever sent a heartbeat and was not forgotten, with the age of its last one. */
  instances(): Promise<StoredInstance[]>;
  /** Drops an instance's row and its contributors' rows (it shut down, or died long ago). */
  forgetInstance(id: string): Promise<void>;
  /** Saves contributors (by peer id: a row is replaced, whatever its home was). */
  putContributors(rows: readonly StoredContributor[]): Promise<void>;
  /** Drops contributors' rows, only those whose home is still `home` (a peer that moved keeps its new row). */
  dropContributors(home: string, peerIds: readonly string[]): Promise<void>;
  /** Every contributor row. */
  contributors(): AsyncIterable<StoredContributor>;
}
