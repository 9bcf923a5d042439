/**
 * One matching round: the runs the running jobs need, offered in price-time priority, matched to the
 * contributors with free capacity. Work per round is proportional to free capacity, not to the queue: at
 * most OFFERS_PER_FREE_SLOT runs per free slot are offered (jobs beyond that wait for the next round, which
 * the market runs again whenever capacity frees up), and the matcher is pure and linear in candidates.
 *
 * A verification run that no registered contributor could ever take (no other network has an eligible
 * peer) does not hold its shard forever: after `replicaWaitMs` verification is waived and the shard is
 * marked unverified, so a mesh with one eligible contributor still finishes jobs.
 */
import { ineligibility, match, type Assignment, type MatchContributor, type MatchRun } from '../../src/core/matcher.ts';
import type { Contributor } from './contributors.ts';
import type { Job } from './job.ts';

/** Runs offered per free slot in one round. */
export const OFFERS_PER_FREE_SLOT = 2;
/** Unplaceable verifier slots examined per round. */
const PLACEMENT_CHECKS_PER_ROUND = 64;
/** Pending shards visited per round looking for them. */
const MAX_VISITS = 512;

/** What a round needs to know. */
export interface RoundContext {
  contributors: MatchContributor[];
  /**
   * Active contributors whatever their load (credible ones only when asked), to tell "busy" from "nobody can":
   * the registry's index (contributors.ts `taking`), so the check looks at candidates, not at every peer.
   */
  pool: (credibleOnly: boolean) => Iterable<Contributor>;
  credible: (peerId: string) => boolean;
  random: () => number;
  now: number;
  replicaWaitMs: number;
  /** Confirmed round trips (ms) from a client to contributors (market/rtt.ts), if any are known. */
  rtt?: (client: string) => ReadonlyMap<string, number> | undefined;
}

/** The round's decisions. */
export interface RoundPlan {
  assignments: { job: Job; shard: number; assignment: Assignment }[];
  /** Shards whose verification is waived. */
  waive: { job: Job; shard: number }[];
  /** A shard waits to be waived: run another round in this many ms. */
  recheckInMs?: number;
  /** Runs offered to the matcher. */
  offered: number;
}

/** Plans one round over `jobs` (in priority order). */
export function planRound(jobs: readonly Job[], ctx: RoundContext): RoundPlan {
  const free = ctx.contributors.reduce((n, c) => n + Math.max(0, c.maxConcurrent - c.load), 0);
  const plan: RoundPlan = { assignments: [], waive: [], offered: 0 };
  const limit = free * OFFERS_PER_FREE_SLOT;
  const runs: MatchRun[] = [];
  const owner = new Map<MatchRun, Job>();
  const placeable = new Placeable(ctx.pool);
  for (const job of jobs) {
    if (runs.length >= limit) break;
    const rtt = ctx.rtt?.(job.client);
    for (const i of job.pending) {
      if (runs.length >= limit) break;
      if (job.shards[i]!.cacheWaiting) continue;
      const n = job.needed(i);
      for (let k = 0; k < n; k++) {
        const run = matchRun(job, i, k, rtt);
        if (run.role === 'verifier') run.credibleOnly = needsCredible(job, i, run, ctx, placeable);
        runs.push(run);
        owner.set(run, job);
      }
    }
  }
  plan.offered = runs.length;
  const assignments = runs.length > 0 ? match(runs, ctx.contributors, { random: ctx.random }) : [];
  const placed = new Set<string>();
  for (const a of assignments) {
    placed.add(`${a.run.jobId}:${a.run.shard}`);
    plan.assignments.push({ job: owner.get(a.run)!, shard: a.run.shard, assignment: a });
  }
  // Verification slots nobody took: does anyone on another network exist who could? (Capacity aside.)
  let visits = 0;
  let checks = 0;
  outer: for (const job of jobs) {
    for (const i of job.pending) {
      if (++visits > MAX_VISITS || checks >= PLACEMENT_CHECKS_PER_ROUND) break outer;
      const s = job.shards[i]!;
      const role = job.nextRole(i);
      if (!s.verify || s.waived || role === 'primary' || role === 'arbiter' || placed.has(`${job.jobId}:${i}`)) continue;
      checks++;
      if (placeable.any(matchRun(job, i, 1), false)) {
        delete s.unplacedSince;
        continue;
      }
      s.unplacedSince ??= ctx.now;
      const left = s.unplacedSince + ctx.replicaWaitMs - ctx.now;
      if (left <= 0) plan.waive.push({ job, shard: i });
      else plan.recheckInMs = Math.min(plan.recheckInMs ?? left, left);
    }
  }
  return plan;
}

/** The `k`-th run shard `i` of `job` needs now, as the matcher sees it. */
function matchRun(job: Job, i: number, k: number, rtt?: ReadonlyMap<string, number>): MatchRun {
  const role = job.nextRole(i);
  const s = job.shards[i]!;
  return {
    latencyMs: job.spec.latencyMs,
    rtt,
    jobId: job.jobId,
    shard: i,
    bid: job.spec.bid,
    submittedAt: job.submittedAt,
    seq: job.seq,
    kernel: job.spec.kernel,
    spec: s.spec,
    exclude: job.exclusions(i),
    role: k === 0 && role === 'primary' ? 'primary' : 'verifier',
    avoidNetworks: job.networks(i),
    credibleOnly: false,
  };
}

/**
 * Whether a verifier of shard `i` must be credible: it checks a newcomer's result, breaks a tie or arbitrates,
 * and some credible contributor on another network could take it (capacity aside). Without that condition a
 * newcomer would wait forever in a mesh with no credible peer eligible, so there any contributor may verify.
 */
function needsCredible(job: Job, i: number, run: MatchRun, ctx: RoundContext, placeable: Placeable): boolean {
  const role = job.nextRole(i);
  const s = job.shards[i]!;
  if (role !== 'tiebreak' && role !== 'arbiter' && !s.runs.some((r) => !ctx.credible(r.lease.contributor))) return false;
  return placeable.any(run, true);
}

/**
 * Whether some registered contributor could run shard `i` of `job` at all (its capabilities and ask, whatever
 * its state, load or network), and whether every such contributor is barred from it: then the shard can never
 * finish with the contributors there are.
 */
export function shardBlocked(job: Job, i: number, registry: Iterable<Contributor>): { capable: number; blocked: boolean } {
  const run = { ...matchRun(job, i, 0), exclude: new Set<string>() };
  const barred = job.shards[i]!.barred;
  let capable = 0;
  let open = 0;
  for (const c of registry) {
    const view: MatchContributor = { peerId: c.peerId, caps: c.caps, askPrice: c.askPrice, maxConcurrent: c.maxConcurrent, load: 0, reputation: 0, network: c.placement, credible: false };
    if (ineligibility(view, run) !== null) continue;
    capable++;
    if (!barred?.has(c.peerId)) open++;
  }
  return { capable, blocked: capable > 0 && open === 0 };
}

const NOBODY: ReadonlySet<string> = new Set();

/**
 * "Could an active contributor on another network take this run (capacity aside)?", answered for one round.
 * Runs of one job share what eligibility depends on (kernel, bid, latency budget, client; the shard's buffers too
 * for WGSL kernels), so the contributors eligible for them are found once, lazily, from the registry's index:
 * a check walks the ones found so far and pulls more only when all of those are excluded or on an avoided
 * network. A round's checks cost about one pass over the pool per job, not one per run.
 */
class Placeable {
  readonly #lists = new Map<string, { run: MatchRun; found: Contributor[]; rest: Iterator<Contributor> | undefined }>();

  constructor(readonly pool: (credibleOnly: boolean) => Iterable<Contributor>) {}

  any(run: MatchRun, credibleOnly: boolean): boolean {
    const perShard = run.kernel.kind !== 'onnx' && run.kernel.kind !== 'matmul';
    const key = `${credibleOnly ? 'c' : 'a'}\u0000${run.jobId}${perShard ? `\u0000${run.shard}` : ''}`;
    let list = this.#lists.get(key);
    if (!list) {
      list = { run: { ...run, exclude: NOBODY }, found: [], rest: this.pool(credibleOnly)[Symbol.iterator]() };
      this.#lists.set(key, list);
    }
    const open = (c: Contributor) => !run.exclude.has(c.peerId) && !run.avoidNetworks.has(c.placement);
    for (const c of list.found) if (open(c)) return true;
    while (list.rest) {
      const next = list.rest.next();
      if (next.done) {
        list.rest = undefined;
        break;
      }
      const c = next.value;
      if (c.state !== 'active' || ineligibility(view(c), list.run) !== null) continue;
      list.found.push(c);
      if (open(c)) return true;
    }
    return false;
  }
}

/** A registered contributor as the eligibility rule sees it (capacity, record and network aside). */
function view(c: Contributor): MatchContributor {
  return { peerId: c.peerId, caps: c.caps, askPrice: c.askPrice, maxConcurrent: c.maxConcurrent, load: 0, reputation: 0, network: c.placement, credible: false };
}
