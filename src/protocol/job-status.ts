/**
 * A job's progress as the coordinator reports it on the mesh socket (see coordinator.ts): its status, why its
 * queued shards wait, and the shard-by-shard detail its owner may ask for.
 */
import type { ErrorCode } from './errors.ts';

/** Progress of a job as the coordinator sees it. */
export interface JobStatus {
  jobId: string;
  /** 'failed': it cannot finish (see `reason`); its unspent escrow was refunded. */
  state: 'running' | 'done' | 'cancelled' | 'expired' | 'failed';
  /** Why a job failed (or was cancelled by the coordinator): an error code and a sentence naming the cause. */
  reason?: { code: ErrorCode; message: string };
  shards: number;
  settled: number;
  escrow: number;
  spent: number;
  fees: number;
  refunded: number;
  /** Why its queued shards wait, while some do (running jobs only). */
  wait?: JobWait;
}

/** Why a job's queued shards are not running yet: what the coordinator sees now. */
export interface JobWait {
  /**
   * 'no-contributors': nobody is online to take work. 'no-capable': contributors are online but none can run this
   * job. 'bid-below-ask': those that can all ask more than the bid. 'busy': able contributors are all busy (with
   * this job or jobs ahead of it). 'verifier': a shard waits for a second contributor, on another network, to
   * check it. 'retry-backoff': a shard failed on every contributor able to run it, which retry after a pause.
   */
  code: 'no-contributors' | 'no-capable' | 'bid-below-ask' | 'busy' | 'verifier' | 'retry-backoff';
  /** One sentence saying why, for people. */
  message: string;
  /** Contributors online and taking work. */
  online: number;
  /** Of those, how many can run this job (capabilities), whatever they ask; counts stop at WAIT_SCAN_LIMIT. */
  capable: number;
  /** Of those, how many ask at most the bid. */
  affordable: number;
  /** Lowest ask of the capable contributors, micro-credits per work unit. */
  lowestAsk?: number;
  /** The job's bid, micro-credits per work unit. */
  bid: number;
  /** Shards waiting for a run. */
  waiting: number;
  /** 1 when the job is next for the contributors it waits on; n when n - 1 jobs are ahead of it. */
  position?: number;
  /** Estimated milliseconds until the job is done (or, for 'verifier' and 'retry-backoff', until the wait ends),
   * from the runs measured so far; absent when nothing can be estimated. */
  etaMs?: number;
}

/** Contributors a wait explanation looks at, at most, per job. */
export const WAIT_SCAN_LIMIT = 1024;

/** One run of a shard in a job's detail (owner only). */
export interface RunView {
  leaseId: string;
  contributor: string;
  /** 'primary' (the first result), 'replica', 'tiebreak' or 'arbiter' (decides a complaint). */
  role: 'primary' | 'replica' | 'tiebreak' | 'arbiter';
  state: 'leased' | 'claimed' | 'contested' | 'paid' | 'rejected';
  /** Micro-credits per work unit. */
  price: number;
  outputHash?: string;
  /** Micro-credits paid to the contributor (fee excluded), once paid. */
  amount?: number;
}

/** One shard in a job's detail. */
export interface ShardView {
  index: number;
  state: 'queued' | 'leased' | 'done';
  /** Two agreeing runs are required (and not waived). */
  verified: boolean;
  /** Verification was waived: no second eligible contributor existed. */
  waived: boolean;
  outputHash?: string;
  runs: RunView[];
}

/** A job's status with one entry per shard: what the `job` request with `detail` answers its owner. */
export type JobDetail = Omit<JobStatus, 'shards'> & { shards: ShardView[] };
