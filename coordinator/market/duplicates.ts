/**
 * Leasing speculative duplicates (speculation.ts decides which runs are stragglers): after a round, each
 * straggler is offered to the contributors the round left free and measured at least as fast as the median
 * contributor; the matcher places it like the run it duplicates.
 */
import { match, type MatchContributor } from '../../src/core/matcher.ts';
import type { Metrics } from '../metrics.ts';
import type { ContributorRegistry } from './contributors.ts';
import type { Credibility } from './credibility.ts';
import type { Job, Run } from './job.ts';
import type { Speculation, Straggler } from './speculation.ts';

/** What leasing duplicates needs. */
export interface DuplicateContext {
  speculation: Speculation;
  registry: ContributorRegistry;
  credibility: Credibility;
  rtt: (client: string) => ReadonlyMap<string, number> | undefined;
  random: () => number;
  metrics: Metrics;
  /** Leases shard `shard` of `job` to `contributor` at `price` as a duplicate of `straggler`. */
  assign(job: Job, shard: number, contributor: string, price: number, straggler: Run): void;
}

/**
 * Leases duplicates of the stragglers of `jobs` to free contributors; returns when to look again (ms), if a
 * run will become a straggler without any other event.
 */
export function leaseDuplicates(jobs: readonly Job[], ctx: DuplicateContext): number | undefined {
  const { stragglers, nextInMs } = ctx.speculation.find(jobs, Date.now(), ctx.rtt);
  if (stragglers.length === 0) return nextInMs;
  const byOffer = new Map(stragglers.map((s) => [s.offer, s]));
  let leased = 0;
  for (const a of match(stragglers.map((s) => s.offer), provenFast(ctx.registry.forMatching(), measuredSpeeds(ctx)), { random: ctx.random })) {
    const s: Straggler = byOffer.get(a.run)!;
    if (s.job.state !== 'running' || s.run.state !== 'leased' || s.job.shards[s.shard]!.done) continue;
    ctx.assign(s.job, s.shard, a.contributor, a.price, s.run);
    leased++;
  }
  if (leased > 0) ctx.metrics.inc('speculative_runs', '', leased);
  return nextInMs;
}

/** Measured speeds of the registered contributors. */
function measuredSpeeds(ctx: DuplicateContext): number[] {
  const out: number[] = [];
  for (const c of ctx.registry.all()) {
    const v = ctx.credibility.speed(c.peerId);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/**
 * Contributors a duplicate may go to: those measured at least as fast as the median of `measured` (the speeds
 * of every registered contributor that has one; all of the pool while none was measured). A duplicate on a
 * peer as slow as the straggler finishes no sooner and blocks the shard's one live duplicate.
 */
function provenFast(pool: MatchContributor[], measured: number[]): MatchContributor[] {
  if (measured.length === 0) return pool;
  measured.sort((a, b) => a - b);
  const bar = measured[(measured.length - 1) >> 1]!;
  return pool.filter((c) => c.speed !== undefined && c.speed >= bar);
}
