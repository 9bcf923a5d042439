/**
 * When matching rounds run and what one does. Rounds run on a timer, coalescing bursts of events, at most once
 * per MIN_ROUND_MS; a round serves queued shards from the result cache (cache-serve.ts), matches the rest
 * (matching.ts), leases duplicates of stragglers on the capacity left (duplicates.ts), waives verification
 * nobody can do, and sets the next look when something will change without an event (a cooldown ending, a
 * verifier wait running out, a run becoming a straggler).
 */
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { planCacheServes } from './cache-serve.ts';
import type { ContributorRegistry } from './contributors.ts';
import type { Credibility } from './credibility.ts';
import { type DuplicateContext, leaseDuplicates } from './duplicates.ts';
import { nextCoolingEnd } from './failures.ts';
import type { Job, Run } from './job.ts';
import { planRound } from './matching.ts';
import type { StageGate } from './pipelines.ts';
import type { ResultCache } from './result-cache.ts';
import type { Speculation } from './speculation.ts';

/** Shortest time between two matching rounds. */
export const MIN_ROUND_MS = 10;

/** What a round reads and does. */
export interface RoundDeps {
  registry: ContributorRegistry;
  credibility: Credibility;
  cache: ResultCache;
  speculation: Speculation;
  random: () => number;
  replicaWaitMs: number;
  metrics: Metrics;
  log: Logger;
  /** Confirmed round trips from a client to contributors (market/rtt.ts). */
  rtt: (client: string) => ReadonlyMap<string, number> | undefined;
  /** Whether any job runs. */
  anyRunning: () => boolean;
  /** Running jobs in priority order whose client is there to serve them. */
  matchable: () => readonly Job[];
  /** Leases a run (`cached`: answered from the holder's cache; `straggler`: the run it duplicates). */
  assign(job: Job, shard: number, contributor: string, price: number, opts?: { cached?: string; straggler?: Run }): void;
  /** Gives up verification of a shard nobody can verify. */
  waive(job: Job, shard: number): void;
  /** Tells the job waits a round ran (market/waits.ts). */
  poke(): void;
  /** Pipeline stage placement (pipelines.ts): preferred contributors, and who a stage must avoid. */
  affinity?: (job: Job) => ReadonlyMap<string, number> | undefined;
  gate?: (job: Job) => StageGate | undefined;
}

/** The market's matching rounds. */
export class MatchingRounds {
  readonly #d: RoundDeps;
  readonly #duplicates: DuplicateContext;
  #matchTimer: ReturnType<typeof setTimeout> | undefined;
  #recheck: ReturnType<typeof setTimeout> | undefined;
  #recheckAt = Infinity;
  #lastRound = 0;
  #closed = false;

  constructor(d: RoundDeps) {
    this.#d = d;
    this.#duplicates = {
      speculation: d.speculation,
      registry: d.registry,
      credibility: d.credibility,
      rtt: d.rtt,
      random: d.random,
      metrics: d.metrics,
      assign: (job, shard, contributor, price, straggler) => d.assign(job, shard, contributor, price, { straggler }),
    };
  }

  /** Asks for a round soon (coalesced, at most one per MIN_ROUND_MS). */
  schedule(): void {
    if (this.#matchTimer !== undefined || this.#closed) return;
    const wait = Math.max(0, this.#lastRound + MIN_ROUND_MS - performance.now());
    this.#matchTimer = setTimeout(() => {
      this.#matchTimer = undefined;
      this.#lastRound = performance.now();
      try {
        this.#round();
      } catch (err) {
        this.#d.log.error('matching round failed', { err });
      }
    }, wait);
  }

  /** Stops rounds for good. */
  stop(): void {
    this.#closed = true;
    clearTimeout(this.#matchTimer);
    clearTimeout(this.#recheck);
  }

  #round(): void {
    const d = this.#d;
    if (!d.anyRunning()) return;
    const started = performance.now();
    const jobs = d.matchable();
    const serves = planCacheServes(jobs, { cache: d.cache, registry: d.registry, rtt: d.rtt, quarantined: (p) => d.credibility.quarantined(p) });
    for (const s of serves) if (s.job.state === 'running' && s.job.needed(s.shard) > 0) d.assign(s.job, s.shard, s.contributor, s.price, { cached: s.outputHash });
    if (serves.length > 0) d.metrics.inc('cache_serves', '', serves.length);
    const plan = planRound(jobs, {
      contributors: d.registry.forMatching(),
      pool: (credibleOnly) => d.registry.taking(credibleOnly),
      credible: (p) => d.credibility.credible(p),
      random: d.random,
      now: Date.now(),
      replicaWaitMs: d.replicaWaitMs,
      rtt: d.rtt,
      ...(d.affinity ? { affinity: d.affinity } : {}),
      ...(d.gate ? { gate: d.gate } : {}),
    });
    for (const { job, shard, assignment } of plan.assignments) {
      if (job.state === 'running' && job.needed(shard) > 0) d.assign(job, shard, assignment.contributor, assignment.price);
    }
    d.metrics.inc('match_rounds');
    d.metrics.inc('match_offers', '', plan.offered);
    d.metrics.inc('match_ms', '', Math.round(performance.now() - started));
    const spec = leaseDuplicates(jobs, this.#duplicates);
    if (spec !== undefined) plan.recheckInMs = Math.min(plan.recheckInMs ?? Infinity, spec);
    // A contributor cooling off a failed shard may be the only one for it: look again when its cooldown ends.
    const cooled = nextCoolingEnd(jobs, Date.now());
    if (cooled !== undefined) plan.recheckInMs = Math.min(plan.recheckInMs ?? Infinity, cooled - Date.now());
    if (plan.recheckInMs !== undefined && !this.#closed) this.#recheckIn(plan.recheckInMs);
    for (const { job, shard } of plan.waive) d.waive(job, shard);
    d.poke();
  }

  /**
   * Runs a round `ms` from now unless one is due sooner. A sooner look replaces a later one: a contributor
   * cooling off a shard for a minute must not hold back a straggler's duplicate due in 40 ms.
   */
  #recheckIn(ms: number): void {
    const at = performance.now() + ms + 1;
    if (this.#recheck !== undefined && this.#recheckAt <= at) return;
    clearTimeout(this.#recheck);
    this.#recheckAt = at;
    this.#recheck = setTimeout(() => {
      this.#recheck = undefined;
      this.#recheckAt = Infinity;
      this.schedule();
    }, ms + 1);
  }
}
