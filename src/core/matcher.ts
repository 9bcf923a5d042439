/**
 * The market's matching rule, as a pure function: which contributor runs which shard next.
 *
 * Hard constraints first (a contributor that cannot run a shard, or asks more than the job bids, is never
 * considered). A primary run goes to the best score over price, measured speed, reputation and load:
 * declared numbers (a peer's own GFLOP/s) are never trusted for ranking, since anyone can declare 1e9.
 * A verifier run (replica, tie-breaker, arbiter) goes to a contributor drawn at random among the eligible
 * ones on a network none of the shard's other runs came from (credible ones only, when asked), so neither a
 * low ask nor a claimed speed lets a peer choose to check itself. Between jobs, price-time priority: runs of
 * the highest bid are matched first, ties go to the earlier submission.
 *
 * Latency: a run may carry the round-trip times (ms) between its job's client and contributors, as the
 * coordinator confirmed them (market/rtt.ts), and the job's latency budget. A contributor known to be farther
 * than the budget is ineligible (for every role); among the rest a primary run prefers the closer ones. An
 * unknown round trip is neither excluded nor preferred over a known one within the budget.
 */
import type { Capabilities } from '../protocol/capabilities.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import { tensorBytes } from '../protocol/tensor.ts';
import { Ranking } from './ranking.ts';

/** A contributor as the matcher sees it (only active ones are passed in). */
export interface MatchContributor {
  peerId: string;
  caps: Capabilities;
  /** Micro-credits per work unit it asks. */
  askPrice: number;
  maxConcurrent: number;
  /** Leases it holds now. */
  load: number;
  /** 0 (newcomer or caught) .. 1 (long record of agreements). */
  reputation: number;
  /** Measured work units per second, once the coordinator saw a run of it claimed. */
  speed?: number;
  /** Placement key of its network: verifiers of a shard come from networks distinct from its other runs. */
  network: string;
  /** Whether it earned credibility (see coordinator/market/credibility.ts). */
  credible: boolean;
}

/** One run of one shard waiting for a contributor (a primary run or a verification replica). */
export interface MatchRun {
  jobId: string;
  shard: number;
  /** Micro-credits per work unit the job pays at most. */
  bid: number;
  /** Submission time (ms) of the job, for time priority. */
  submittedAt: number;
  /** Submission order of the job, breaking ties of equal time. */
  seq: number;
  kernel: KernelSpec;
  spec: ShardSpec;
  /** Contributors that ran or hold this shard already: a replica must run elsewhere to mean anything. */
  exclude: ReadonlySet<string>;
  /** 'primary' runs are placed by score; 'verifier' runs at random on a distinct network. */
  role: 'primary' | 'verifier';
  /** Networks of the shard's other runs: a run never goes to one of them (empty for a shard's first run). */
  avoidNetworks: ReadonlySet<string>;
  /** A verifier that must be credible (a newcomer's result, a tie-breaker, an arbiter): only credible
   * contributors are drawn, and the run waits for one when none is free. */
  credibleOnly: boolean;
  /** The job's latency budget (ms), if it has one. */
  latencyMs?: number | undefined;
  /** Confirmed round-trip times (ms) from the job's client to contributors, by peer id. */
  rtt?: ReadonlyMap<string, number> | undefined;
  /** Score added per contributor for this job's primaries (a pipeline stage prefers its warm contributors and
   * avoids those running its other stages); the same for every run of a job in one round. */
  affinity?: ReadonlyMap<string, number> | undefined;
}

/** A decision: `contributor` runs `run` for `price` micro-credits per work unit (its ask). */
export interface Assignment {
  run: MatchRun;
  contributor: string;
  price: number;
}

/** Options of a matching round. */
export interface MatchOptions {
  weights?: MatchWeights;
  /** Source of randomness for verifier placement. */
  random?: () => number;
}

/** Relative weight of each score term; they sum to 1 so scores stay in [0, 1]. */
export interface MatchWeights {
  price: number;
  speed: number;
  reputation: number;
  load: number;
  /** Closeness to the client (see `closeness`); 0 when absent. */
  latency?: number;
}

/** Memory an ONNX session takes per byte of its model, about (weights, their runtime copies, activations). */
export const ONNX_MEMORY_FACTOR = 4;

/** Weights used unless the caller passes others: price matters most to the client, then speed, then closeness. */
export const DEFAULT_WEIGHTS: MatchWeights = { price: 0.28, speed: 0.24, reputation: 0.16, load: 0.12, latency: 0.2 };

/** Round trip (ms) at which closeness is one half. */
export const CLOSENESS_HALF_MS = 25;

/**
 * Closeness in (0, 1] of a contributor `ms` away: 1 / (1 + ms / 25), so 5 ms scores 0.83, 50 ms 0.33 and
 * 200 ms 0.11. An unknown round trip scores as 25 ms: below a near peer, above a far one.
 */
export function closeness(ms: number | undefined): number {
  return 1 / (1 + (ms ?? CLOSENESS_HALF_MS) / CLOSENESS_HALF_MS);
}

/** Why `c` cannot take `run`, or null when it can (capacity aside). */
export function ineligibility(c: MatchContributor, run: MatchRun): string | null {
  if (run.exclude.has(c.peerId)) return 'already ran or holds this shard';
  if (c.askPrice > run.bid) return `ask ${c.askPrice} exceeds bid ${run.bid}`;
  if (run.latencyMs !== undefined) {
    const ms = run.rtt?.get(c.peerId);
    if (ms !== undefined && ms > run.latencyMs) return `round trip ${ms} ms exceeds the latency budget ${run.latencyMs} ms`;
  }
  if (run.kernel.kind === 'onnx') {
    if (c.caps.ortEps.length === 0) return 'no ONNX runtime execution provider';
    // A model (a pipeline stage, when the whole is too big) must fit the memory the contributor reports.
    const need = run.kernel.model.bytes * ONNX_MEMORY_FACTOR;
    if (c.caps.memoryGiB !== undefined && need > c.caps.memoryGiB * 2 ** 30) return `model needs about ${need} bytes of memory, more than the contributor's ${c.caps.memoryGiB} GiB`;
    // The budget the contributor's person set for models, when they set one (ContributeOptions.modelMemoryMB).
    if (c.caps.modelMemoryMB !== undefined && need > c.caps.modelMemoryMB * 2 ** 20) {
      return `model needs about ${Math.ceil(need / 2 ** 20)} MiB of memory (${ONNX_MEMORY_FACTOR} x its ${run.kernel.model.bytes} bytes), more than the ${c.caps.modelMemoryMB} MiB the contributor allows for models`;
    }
    return null;
  }
  const gpu = c.caps.gpu;
  if (!gpu) return 'no WebGPU adapter';
  // The built-in matmul splits itself to fit the contributor's limits (workers/gpu/matmul-runner.ts).
  if (run.kernel.kind === 'matmul') return null;
  const limits = gpu.limits;
  const storage = run.kernel.bindings.filter((b) => b.role !== 'uniform').length;
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    return `${storage} storage buffers exceed maxStorageBuffersPerShaderStage ${limits.maxStorageBuffersPerShaderStage}`;
  }
  const maxBytes = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const t of [...run.spec.inputs, ...run.spec.outputs]) {
    const bytes = tensorBytes(t);
    if (bytes > maxBytes) return `buffer '${t.name}' of ${bytes} bytes exceeds the adapter's ${maxBytes}`;
  }
  if (run.spec.dispatch?.some((d) => d > limits.maxComputeWorkgroupsPerDimension)) {
    return `dispatch ${run.spec.dispatch} exceeds maxComputeWorkgroupsPerDimension ${limits.maxComputeWorkgroupsPerDimension}`;
  }
  return null;
}

/**
 * Score in [0, 1] of an eligible contributor for a run; `fastest` is the best measured speed among the
 * candidates (0 when none was measured) and `prior` the speed assumed for an unmeasured one.
 */
export function score(c: MatchContributor, run: MatchRun, fastest: number, prior: number, w: MatchWeights = DEFAULT_WEIGHTS): number {
  const price = run.bid > 0 ? 1 - c.askPrice / run.bid : 1;
  const speed = fastest > 0 ? Math.min(1, (c.speed ?? prior) / fastest) : 1;
  const reputation = Math.min(1, Math.max(0, c.reputation));
  const idle = 1 - c.load / c.maxConcurrent;
  const near = w.latency ? w.latency * closeness(run.rtt?.get(c.peerId)) : 0;
  const affinity = run.affinity?.get(c.peerId) ?? 0;
  return w.price * price + w.speed * speed + w.reputation * reputation + w.load * idle + near + affinity;
}

/** Price-time priority: higher bid first, then earlier submission, then shard order, primaries first. */
export function compareRuns(a: MatchRun, b: MatchRun): number {
  return b.bid - a.bid || a.submittedAt - b.submittedAt || a.seq - b.seq || a.shard - b.shard ||
    (a.role === b.role ? 0 : a.role === 'primary' ? -1 : 1);
}

/** Random draws of a verifier among the free contributors before falling back to listing the eligible ones. */
const DRAWS = 16;

/**
 * Assigns as many runs as capacity allows. Pure: inputs are not modified; the load each assignment adds is
 * tracked internally, and two runs of one shard never go to the same contributor or (for verifiers) the same
 * network in one round.
 *
 * Cost: primaries of one kind (one job; one shard for WGSL kernels) share a ranking (ranking.ts) built once per
 * round; a verifier is drawn by rejection sampling from the free contributors (uniform among the eligible ones,
 * like listing them and drawing one), falling back to the list only after DRAWS misses.
 */
export function match(runs: readonly MatchRun[], contributors: readonly MatchContributor[], opts: MatchOptions = {}): Assignment[] {
  const { weights = DEFAULT_WEIGHTS, random = Math.random } = opts;
  const load = new Map(contributors.map((c) => [c.peerId, c.load]));
  const loadOf = (c: MatchContributor) => load.get(c.peerId)!;
  let free = contributors.reduce((n, c) => n + Math.max(0, c.maxConcurrent - c.load), 0);
  const open = new FreePool(contributors.filter((c) => c.load < c.maxConcurrent));
  const openCredible = new FreePool(open.items.filter((c) => c.credible));
  const rankings = new Map<string, Ranking>();
  const round = new Map<string, { peers: Set<string>; networks: Set<string> }>();
  const out: Assignment[] = [];
  for (const run of [...runs].sort(compareRuns)) {
    if (free <= 0) break;
    const key = `${run.jobId}\u0000${run.shard}`;
    const taken = round.get(key);
    let best: MatchContributor | undefined;
    if (run.role === 'verifier') {
      const fits = (c: MatchContributor) =>
        loadOf(c) < c.maxConcurrent && !taken?.peers.has(c.peerId) && !run.avoidNetworks.has(c.network) && !taken?.networks.has(c.network) &&
        (!run.credibleOnly || c.credible) && ineligibility(c, run) === null;
      best = (run.credibleOnly ? openCredible : open).draw(fits, random);
    } else {
      // A shard's first run has no other run to keep apart from; a speculative duplicate's shard has.
      best = ranking(run).best((c) => !taken?.peers.has(c.peerId) && !run.exclude.has(c.peerId) && !run.avoidNetworks.has(c.network));
    }
    if (!best) continue;
    const l = loadOf(best) + 1;
    load.set(best.peerId, l);
    if (l >= best.maxConcurrent) {
      open.remove(best);
      openCredible.remove(best);
    }
    free--;
    if (taken) {
      taken.peers.add(best.peerId);
      taken.networks.add(best.network);
    } else round.set(key, { peers: new Set([best.peerId]), networks: new Set([best.network]) });
    out.push({ run, contributor: best.peerId, price: best.askPrice });
  }
  return out;

  /** The round's ranking for runs like `run` (same job, bid, budget, client and kernel; same shard for WGSL). */
  function ranking(run: MatchRun): Ranking {
    const perShard = run.kernel.kind !== 'onnx' && run.kernel.kind !== 'matmul';
    const key = `${run.jobId}\u0000${run.bid}\u0000${run.latencyMs}${perShard ? `\u0000${run.shard}` : ''}`;
    const t = rankings.get(key)?.template;
    if (t && t.kernel === run.kernel && t.rtt === run.rtt && (!perShard || t.spec === run.spec)) return rankings.get(key)!;
    const general = { ...run, exclude: NOBODY };
    const eligible = open.items.filter((c) => ineligibility(c, general) === null);
    const { fastest, prior } = speedScale(eligible);
    const r = new Ranking(general, eligible, loadOf, (c, l) => score(l === c.load ? c : { ...c, load: l }, run, fastest, prior, weights));
    rankings.set(key, r);
    return r;
  }
}

const NOBODY: ReadonlySet<string> = new Set();

/**
 * The best measured speed among `candidates` (0 when none was measured) and the speed assumed for an unmeasured
 * one: the lower quartile of the measured speeds. A stranger is ranked below the typical measured peer until one
 * of its runs is timed (declared numbers are never trusted), so the first shards of a job go to peers known to be
 * fast while strangers still get work whenever those are busy.
 */
export function speedScale(candidates: readonly MatchContributor[]): { fastest: number; prior: number } {
  const measured = candidates.map((c) => c.speed).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  const fastest = measured.at(-1) ?? 0;
  const prior = measured.length > 0 ? measured[Math.floor((measured.length - 1) / 4)]! : 0;
  return { fastest, prior };
}

/** Contributors with a free slot, for uniform draws; one leaves when it fills up. */
class FreePool {
  readonly #at = new Map<string, number>();

  constructor(readonly items: MatchContributor[]) {
    items.forEach((c, i) => this.#at.set(c.peerId, i));
  }

  remove(c: MatchContributor): void {
    const i = this.#at.get(c.peerId);
    if (i === undefined) return;
    const last = this.items.pop()!;
    this.#at.delete(c.peerId);
    if (last !== c) {
      this.items[i] = last;
      this.#at.set(last.peerId, i);
    }
  }

  /** A contributor drawn uniformly among those that `fit`, or undefined when none does. */
  draw(fits: (c: MatchContributor) => boolean, random: () => number): MatchContributor | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    for (let k = 0; k < DRAWS; k++) {
      const c = this.items[Math.min(n - 1, Math.floor(random() * n))]!;
      if (fits(c)) return c;
    }
    const candidates = this.items.filter(fits);
    if (candidates.length === 0) return undefined;
    return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
  }
}
