/**
 * The market's matching rule, as a pure function: which contributor runs which shard next.
 *
 * Hard constraints first (a contributor that cannot run a shard, or asks more than the job bids, is never
 * considered), then a score over price, speed, reputation and load picks among the rest. Between jobs,
 * price-time priority: runs of the highest bid are matched first, ties go to the earlier submission, so a
 * cheap bid waits while capacity is scarce but is never starved once capacity frees up.
 */
import type { Capabilities } from '../protocol/capabilities.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import { tensorBytes } from '../protocol/tensor.ts';

/** A contributor as the matcher sees it (only active ones are passed in). */
export interface MatchContributor {
  peerId: string;
  caps: Capabilities;
  /** Micro-credits per work unit it asks. */
  askPrice: number;
  maxConcurrent: number;
  /** Leases it holds now. */
  load: number;
  /** 0 (always wrong) .. 1 (always verified). */
  reputation: number;
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
}

/** A decision: `contributor` runs `run` for `price` micro-credits per work unit (its ask). */
export interface Assignment {
  run: MatchRun;
  contributor: string;
  price: number;
}

/** Relative weight of each score term; they sum to 1 so scores stay in [0, 1]. */
export interface MatchWeights {
  price: number;
  speed: number;
  reputation: number;
  load: number;
}

/** Weights used unless the caller passes others: price matters most to the client, then speed. */
export const DEFAULT_WEIGHTS: MatchWeights = { price: 0.35, speed: 0.3, reputation: 0.2, load: 0.15 };

/** Why `c` cannot take `run`, or null when it can (capacity aside). */
export function ineligibility(c: MatchContributor, run: MatchRun): string | null {
  if (run.exclude.has(c.peerId)) return 'already ran or holds this shard';
  if (c.askPrice > run.bid) return `ask ${c.askPrice} exceeds bid ${run.bid}`;
  if (run.kernel.kind === 'onnx') {
    if (c.caps.ortEps.length === 0) return 'no ONNX runtime execution provider';
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

/** GFLOP/s a contributor brings to this kind of kernel (WGSL runs on the GPU; ONNX on the best EP it has). */
export function relevantGflops(c: MatchContributor, kernel: KernelSpec): number {
  const gpu = c.caps.gflops.gpu ?? 0;
  if (kernel.kind === 'wgsl' || kernel.kind === 'matmul') return gpu;
  return c.caps.ortEps.includes('webgpu') ? Math.max(c.caps.gflops.cpu, gpu) : c.caps.gflops.cpu;
}

/**
 * Score in [0, 1] of an eligible contributor for a run; `fastest` is the best relevant GFLOP/s among the
 * candidates, so speed is judged relative to what is on offer now.
 */
export function score(c: MatchContributor, run: MatchRun, fastest: number, w: MatchWeights = DEFAULT_WEIGHTS): number {
  const price = run.bid > 0 ? 1 - c.askPrice / run.bid : 1;
  const speed = fastest > 0 ? relevantGflops(c, run.kernel) / fastest : 1;
  const reputation = Math.min(1, Math.max(0, c.reputation));
  const idle = 1 - c.load / c.maxConcurrent;
  return w.price * price + w.speed * speed + w.reputation * reputation + w.load * idle;
}

/** Price-time priority: higher bid first, then earlier submission, then shard order. */
export function compareRuns(a: MatchRun, b: MatchRun): number {
  return b.bid - a.bid || a.submittedAt - b.submittedAt || a.seq - b.seq || a.shard - b.shard;
}

/**
 * Assigns as many runs as capacity allows. Pure: inputs are not modified; the load each assignment adds is
 * tracked internally, and two runs of one shard never go to the same contributor in one round.
 */
export function match(
  runs: readonly MatchRun[],
  contributors: readonly MatchContributor[],
  weights: MatchWeights = DEFAULT_WEIGHTS,
): Assignment[] {
  const load = new Map(contributors.map((c) => [c.peerId, c.load]));
  let free = contributors.reduce((n, c) => n + Math.max(0, c.maxConcurrent - c.load), 0);
  const takenThisRound = new Map<string, Set<string>>();
  const out: Assignment[] = [];
  for (const run of [...runs].sort(compareRuns)) {
    if (free <= 0) break;
    const key = `${run.jobId}\u0000${run.shard}`;
    const taken = takenThisRound.get(key);
    const candidates: MatchContributor[] = [];
    for (const c of contributors) {
      const l = load.get(c.peerId)!;
      if (l >= c.maxConcurrent || taken?.has(c.peerId) || ineligibility(c, run) !== null) continue;
      candidates.push(l === c.load ? c : { ...c, load: l });
    }
    if (candidates.length === 0) continue;
    const fastest = Math.max(...candidates.map((c) => relevantGflops(c, run.kernel)));
    let best = candidates[0]!;
    let bestScore = score(best, run, fastest, weights);
    for (const c of candidates.slice(1)) {
      const s = score(c, run, fastest, weights);
      if (s > bestScore || (s === bestScore && tieBreak(c, best) < 0)) {
        best = c;
        bestScore = s;
      }
    }
    load.set(best.peerId, best.load + 1);
    free--;
    if (taken) taken.add(best.peerId);
    else takenThisRound.set(key, new Set([best.peerId]));
    out.push({ run, contributor: best.peerId, price: best.askPrice });
  }
  return out;
}

function tieBreak(a: MatchContributor, b: MatchContributor): number {
  return a.askPrice - b.askPrice || a.load - b.load || (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);
}
