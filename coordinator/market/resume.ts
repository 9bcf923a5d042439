/**
 * Start-up from the store: track records come back, and every running job is rebuilt with its shards, its
 * runs in flight and the payments already made, then adopted by the market (its timers re-armed). Peers
 * reconnect on their own (the SDK re-authenticates with backoff): contributors re-register and their leases
 * count again; a lease whose contributor is not back within CONTRIBUTOR_GRACE_MS is released, and a job whose
 * client is not back within CLIENT_GRACE_MS is cancelled (claimed work paid, the rest refunded). Until its
 * client is back a job is not matched: nobody could send its inputs.
 */
import type { Logger } from '../log.ts';
import type { MarketStore, StoredJob, StoredShard } from '../store/types.ts';
import { Job, type Run } from './job.ts';
import type { Market } from './market.ts';

/** How long a resumed lease waits for its contributor to register again. */
export const CONTRIBUTOR_GRACE_MS = 30_000;
/** How long a resumed job waits for its client to authenticate again. */
export const CLIENT_GRACE_MS = 120_000;

/** A running job rebuilt from its stored header and shard states. */
export function jobFromStore(stored: StoredJob, shards: ReadonlyMap<number, StoredShard>): Job {
  const job = new Job(stored.jobId, stored.client, stored.spec, stored.seq, stored.submittedAt, new Set(stored.sampled), stored.escrow, stored.feeRate, stored.bytes);
  for (const [i, s] of shards) {
    if (!job.shards[i]) continue;
    const restored: Run[] = s.runs.map((r) => ({ ...r }));
    job.restore(i, { ...s, runs: restored });
  }
  return job;
}

/** Rebuilds the market's running jobs and track records from the store; returns what was resumed. */
export async function resumeMarket(
  market: Market,
  store: MarketStore,
  opts: { log: Logger; owner?: string; contributorGraceMs?: number; clientGraceMs?: number },
): Promise<{ jobs: number; runs: number }> {
  for await (const [peerId, record] of store.credibility()) market.credibility.load(peerId, record);
  let jobs = 0;
  let runs = 0;
  for await (const { job: stored, shards } of store.runningJobs(opts.owner)) {
    const job = jobFromStore(stored, shards);
    for (const s of job.shards) runs += s.runs.length;
    market.adopt(job);
    jobs++;
  }
  if (jobs > 0) {
    opts.log.info('resumed running jobs', { jobs, runs });
    setTimeout(() => market.releaseAbsent('contributor did not come back after a restart'), opts.contributorGraceMs ?? CONTRIBUTOR_GRACE_MS);
    setTimeout(() => void market.cancelClientless(), opts.clientGraceMs ?? CLIENT_GRACE_MS);
  }
  return { jobs, runs };
}
