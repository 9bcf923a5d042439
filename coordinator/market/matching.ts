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
import { perShard } from '../../src/core/kernels/index.ts';
import type { KernelKind } from '../../src/protocol/kernel.ts';
import type { Contributor } from './contributors.ts';
import type { Job } from './job.ts';
import type { StageGate } from './pipelines.ts';

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
  /** Score adjustments per contributor for a job's runs (pipeline stages: market/pipelines.ts). */
  affinity?: (job: Job) => ReadonlyMap<string, number> | undefined;
  /** Placement limits of a pipeline stage job's runs this round (market/pipelines.ts). */
  gate?: (job: Job) => StageGate | undefined;
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
  // Runs only a credible contributor may take are offered against the credible ones' free slots: offering more
  // cannot place more, and would crowd out runs that others could take now.
  const credibleFree = ctx.contributors.reduce((n, c) => n + (c.credible ? Math.max(0, c.maxConcurrent - c.load) : 0), 0);
  const plan: RoundPlan = { assignments: [], waive: [], offered: 0 };
  const limit = free * OFFERS_PER_FREE_SLOT;
  const credibleLimit = credibleFree * OFFERS_PER_FREE_SLOT;
  // A walk costs per shard visited: bounded by what the round may offer, not by the queue (shards waiting for a
  // credible verifier are passed over, and a mesh short of credible peers can have thousands of them in front).
  const visitLimit = Math.max(MAX_VISITS, limit);
  let credibleOffered = 0;
  const runs: MatchRun[] = [];
  const owner = new Map<MatchRun, Job>();
  const placeable = new Placeable(ctx.pool);
  let walked = 0;
  const affinities = new Map<Job, ReadonlyMap<string, number> | undefined>();
  const gates = new Map<Job, { gate: StageGate | undefined; offered: number }>();
  const offer = (job: Job, i: number, rtt: ReadonlyMap<string, number> | undefined) => {
    // A later pipeline stage's shard waits for its inputs to exist.
    if (job.shards[i]!.cacheWaiting || !job.inputReady(i)) return;
    // A pipeline stage not placed yet offers one run this round: the next round prefers where it went, so a
    // stage's micro-batches share one warm session instead of spreading over contributors in one round.
    if (job.spec.pipeline && job.stageHolders.size === 0 && affinities.has(job)) return;
    if (ctx.affinity && !affinities.has(job)) affinities.set(job, ctx.affinity(job));
    if (ctx.gate && !gates.has(job)) gates.set(job, { gate: ctx.gate(job), offered: 0 });
    const gated = gates.get(job);
    let n = job.needed(i);
    if (gated?.gate?.limit !== undefined) n = Math.min(n, gated.gate.limit - gated.offered);
    for (let k = 0; k < n; k++) {
      // Over the credible budget, a run that would be credible-only is passed over before it is built.
      if (credibleOffered >= credibleLimit && (k > 0 || job.nextRole(i) !== 'primary') && wantsCredible(job, i, ctx) && placeable.anyFor(job, i, true, ctx.now)) continue;
      const run = matchRun(job, i, k, rtt);
      const affinity = affinities.get(job);
      if (affinity) run.affinity = affinity;
      if (gated?.gate && gated.gate.exclude.size > 0) run.exclude = new Set([...run.exclude, ...gated.gate.exclude]);
      if (gated) gated.offered++;
      if (run.role === 'verifier') run.credibleOnly = needsCredible(job, i, run, ctx, placeable);
      if (run.credibleOnly && credibleOffered++ >= credibleLimit) continue;
      runs.push(run);
      owner.set(run, job);
    }
  };
  // Pending shards in priority order, up to visitLimit of them; then, if runs are still wanted, the shards not
  // started yet of the jobs not fully visited (a job's front may be all shards waiting for a verifier).
  let stopped: { job: Job; visited: Set<number> } | undefined;
  let j = 0;
  walk: for (; j < jobs.length; j++) {
    const job = jobs[j]!;
    const rtt = ctx.rtt?.(job.client);
    const visited = new Set<number>();
    for (const i of job.pending) {
      if (runs.length >= limit) break walk;
      if (++walked > visitLimit) {
        stopped = { job, visited };
        break walk;
      }
      visited.add(i);
      offer(job, i, rtt);
    }
  }
  if (stopped) {
    for (; j < jobs.length && runs.length < limit; j++) {
      const job = jobs[j]!;
      const rtt = ctx.rtt?.(job.client);
      for (const i of job.unstarted) {
        if (runs.length >= limit) break;
        if (job === stopped.job && stopped.visited.has(i)) continue;
        offer(job, i, rtt);
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
  return shardOffer(job, i, k === 0 && job.nextRole(i) === 'primary' ? 'primary' : 'verifier', rtt);
}

/** A run of shard `i` of `job` in `role`, as the matcher sees it (client-side round trips `rtt`, if known). */
export function shardOffer(job: Job, i: number, role: MatchRun['role'], rtt?: ReadonlyMap<string, number>): MatchRun {
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
    role,
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
  return wantsCredible(job, i, ctx) && placeable.any(run, true);
}

/** Whether a verifier of shard `i` checks a newcomer's result, breaks a tie or arbitrates (see `needsCredible`). */
function wantsCredible(job: Job, i: number, ctx: RoundContext): boolean {
  const role = job.nextRole(i);
  return role === 'tiebreak' || role === 'arbiter' || job.shards[i]!.runs.some((r) => !ctx.credible(r.lease.contributor));
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
 * for per-shard kinds such as WGSL), so the contributors eligible for them are found once, lazily, from the registry's index:
 * a check walks the ones found so far and pulls more only when all of those are excluded or on an avoided
 * network. A round's checks cost about one pass over the pool per job, not one per run.
 */
class Placeable {
  readonly #lists = new Map<string, { run: MatchRun; found: Contributor[]; rest: Iterator<Contributor> | undefined }>();

  constructor(readonly pool: (credibleOnly: boolean) => Iterable<Contributor>) {}

  /** Whether some contributor could take `run`. */
  any(run: MatchRun, credibleOnly: boolean): boolean {
    return this.#search(run.jobId, run.shard, run.kernel.kind, credibleOnly, () => run, (c) => !run.exclude.has(c.peerId) && !run.avoidNetworks.has(c.placement));
  }

  /**
   * Whether some contributor could take a verifier run of shard `i` of `job`: `any` for `matchRun(job, i, 1)`,
   * read from the shard's runs without building the run's sets (job.ts `exclusions` and `networks`).
   */
  anyFor(job: Job, i: number, credibleOnly: boolean, now: number): boolean {
    const s = job.shards[i]!;
    const open = (c: Contributor) => {
      if (s.barred?.has(c.peerId)) return false;
      const f = s.failures?.get(c.peerId);
      if (f && f.until > now) return false;
      for (const r of s.runs) if (r.lease.contributor === c.peerId || (r.state !== 'rejected' && r.network === c.placement)) return false;
      return true;
    };
    return this.#search(job.jobId, i, job.spec.kernel.kind, credibleOnly, () => matchRun(job, i, 1), open);
  }

  #search(jobId: string, shard: number, kind: KernelKind, credibleOnly: boolean, template: () => MatchRun, open: (c: Contributor) => boolean): boolean {
    const key = `${credibleOnly ? 'c' : 'a'}\u0000${jobId}${perShard(kind) ? `\u0000${shard}` : ''}`;
    let list = this.#lists.get(key);
    if (!list) {
      list = { run: { ...template(), exclude: NOBODY }, found: [], rest: this.pool(credibleOnly)[Symbol.iterator]() };
      this.#lists.set(key, list);
    }
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
