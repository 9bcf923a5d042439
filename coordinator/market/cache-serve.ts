/**
 * Serving shards from the result cache: before a matching round, each queued shard whose exact key has a
 * verified output goes to a holder of it that is free, active, within the bid and the latency budget, at the
 * cache rate (core/latency.ts). A shard whose holders are all busy waits for one (matching skips it); a
 * shard no holder can serve is computed as usual (it is not tried again). Work per round is bounded by
 * MAX_VISITS shards. A holder that fails a cached lease or names another output is dropped from the cache
 * (Market.release), and the shard is offered to the next holder, if any.
 */
import { busy, type ContributorRegistry } from './contributors.ts';
import type { Job } from './job.ts';
import type { ResultCache } from './result-cache.ts';

/** Queued shards looked at per round. */
const MAX_VISITS = 1024;

/** A cached answer to hand out: shard `shard` of `job` to `contributor`, expected to claim `outputHash`. */
export interface CacheServe {
  job: Job;
  shard: number;
  contributor: string;
  /** Its ask, micro-credits per work unit (before the latency tier). */
  price: number;
  outputHash: string;
}

/** What serving needs. */
export interface CacheServeContext {
  cache: ResultCache;
  registry: ContributorRegistry;
  rtt: (client: string) => ReadonlyMap<string, number> | undefined;
  quarantined: (peerId: string) => boolean;
}

/** Picks cached answers for queued shards of `jobs` (priority order); marks the shards it cannot serve. */
export function planCacheServes(jobs: readonly Job[], ctx: CacheServeContext): CacheServe[] {
  const out: CacheServe[] = [];
  const taken = new Map<string, number>();
  let visits = 0;
  for (const job of jobs) {
    let rtt: ReadonlyMap<string, number> | undefined | null = null;
    for (const i of job.pending) {
      const s = job.shards[i]!;
      if (s.cacheKey === undefined || s.cacheTried || s.runs.length > 0) continue;
      if (++visits > MAX_VISITS) return out;
      const entry = ctx.cache.lookup(s.cacheKey);
      s.cacheWaiting = false;
      if (!entry) {
        s.cacheTried = true;
        continue;
      }
      if (rtt === null) rtt = ctx.rtt(job.client);
      const exclude = job.exclusions(i);
      let served = false;
      let busyHolder = false;
      for (const h of entry.holders) {
        const c = ctx.registry.get(h);
        if (!c || c.state !== 'active' || exclude.has(h) || c.askPrice > job.spec.bid || ctx.quarantined(h)) continue;
        const ms = rtt?.get(h);
        if (job.spec.latencyMs !== undefined && ms !== undefined && ms > job.spec.latencyMs) continue;
        const load = busy(c).load + (taken.get(h) ?? 0);
        if (load >= ctx.registry.capacity(c)) {
          busyHolder = true;
          continue;
        }
        taken.set(h, (taken.get(h) ?? 0) + 1);
        out.push({ job, shard: i, outputHash: entry.outputHash, contributor: h, price: c.askPrice });
        served = true;
        break;
      }
      // A busy holder answers sooner than anyone computes: the shard waits for it (the next round looks again).
      if (!served && busyHolder) s.cacheWaiting = true;
      else if (!served) s.cacheTried = true;
    }
  }
  return out;
}
