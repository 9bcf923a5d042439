/**
 * The pure part of choosing an execution provider for `ep: 'auto'`: the cache key, the probe's bounds,
 * the output comparison and the decision. No ORT here, so Deno tests cover it (ep-policy.test.ts).
 *
 * The probe (ep-probe.ts) runs the task's own inputs on wasm (a warm-up, then up to `wasmRuns` timed runs
 * within `wasmBudgetMs`, keeping the fastest: a new worker runs V8's baseline-tier code for its first second
 * or two, 3-4x slower than after tier-up, which one timed run would charge to wasm), then, unless a rule
 * below skips it, on webgpu (session + warm-up under a cap, then a timed run under a deadline), and keeps
 * webgpu only when it finished the timed run within `winMargin` of wasm's time AND its outputs agree with
 * wasm's within the tolerance. Bounds, so a probe never costs much more than the wasm runs it needs anyway:
 * - webgpu is skipped when wasm's timed run is under `minWasmMs` (GPU dispatch and readback alone cost that);
 * - webgpu is skipped on a fallback adapter (`GPUAdapterInfo.isFallbackAdapter`, e.g. SwiftShader): it runs
 *   on the same CPU cores as wasm and, measured here, 40-60x slower on PP-OCRv4 (bench/onnx.mjs);
 * - session creation + warm-up (shader compiles) gets `webgpuWarmupCapMs`, after which wasm is kept;
 * - the timed webgpu run is abandoned as soon as it exceeds `winMargin` x wasm's time: it has lost.
 * An abandoned webgpu run cannot be cancelled in ORT; it finishes in the background and its session is
 * released then. The choice is cached per (model, adapter, threads), so each of these is paid once.
 */

/** Execution providers the probe chooses between. */
export type ProbeEp = 'wasm' | 'webgpu';

/** Bumped when the probe's rules change, so choices made under old rules are measured again. */
export const PROBE_VERSION = 1;

/** The probe's bounds; see the module comment. */
export interface ProbePolicy {
  /** Timed wasm runs at most; wasm's time is the fastest of them. */
  wasmRuns: number;
  /** No further timed wasm run starts once the timed runs took this long (ms) in all. */
  wasmBudgetMs: number;
  /** Below this wasm time (ms) webgpu is not tried. */
  minWasmMs: number;
  /** Cap (ms) on webgpu session creation + warm-up run. */
  webgpuWarmupCapMs: number;
  /** webgpu must take at most this fraction of wasm's time to be chosen. */
  winMargin: number;
  /** Whether to try webgpu on a fallback (software) adapter. */
  includeFallbackAdapters: boolean;
  /** Outputs agree when max |webgpu - wasm| <= tolerance * max(1, max |wasm|). */
  tolerance: number;
}

/** Defaults used by the compute worker. */
export const DEFAULT_PROBE_POLICY: Readonly<ProbePolicy> = Object.freeze({
  wasmRuns: 3,
  wasmBudgetMs: 1000,
  minWasmMs: 5,
  webgpuWarmupCapMs: 10_000,
  winMargin: 0.9,
  includeFallbackAdapters: false,
  tolerance: 1e-3,
});

/** What identifies a choice: the same model on the same adapter at the same thread count. */
export interface EpChoiceScope {
  modelHash: string;
  /** Adapter description (see describeAdapter), or 'none' without WebGPU. */
  adapter: string;
  threads: number;
}

/** A recorded choice and the measurements behind it. */
export interface EpChoice extends EpChoiceScope {
  key: string;
  ep: ProbeEp;
  /** Why this EP: the rule that decided. */
  reason: string;
  wasmMs: number;
  /** webgpu timed run (ms), when it completed. */
  webgpuMs?: number;
  /** webgpu session + warm-up (ms), when it completed. */
  webgpuWarmupMs?: number;
  /** max |webgpu - wasm| over the outputs, when both completed. */
  maxAbsDiff?: number;
  /** Input shapes the probe measured on. */
  inputDims: number[][];
  /** Date.now() of the measurement. */
  measuredAt: number;
  probeVersion: number;
}

/** The cache key of a scope: probe version, model, threads and adapter. */
export function epChoiceKey(scope: EpChoiceScope): string {
  if (!/^[0-9a-f]{64}$/.test(scope.modelHash)) {
    throw new TypeError(`Cannot key an EP choice as 'modelHash' must be 64 hex digits: current value is ${scope.modelHash}`);
  }
  if (!Number.isInteger(scope.threads) || scope.threads < 1) {
    throw new RangeError(`Cannot key an EP choice as 'threads' must be a positive integer: current value is ${scope.threads}`);
  }
  return `v${PROBE_VERSION}|${scope.modelHash}|t${scope.threads}|${scope.adapter}`;
}

/** The adapter facts a description is built from (a subset of GPUAdapterInfo). */
export interface AdapterFacts {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** One line naming an adapter, stable across restarts: 'vendor/architecture/device/description[/fallback]'. */
export function describeAdapter(info: AdapterFacts | undefined): string {
  if (!info) return 'none';
  const parts = [info.vendor, info.architecture, info.device, info.description].map((s) => (s ?? '').trim());
  return `${parts.join('/')}${info.isFallbackAdapter ? '/fallback' : ''}`;
}

/** Numbers of an output tensor (bigint for int64). */
export type OutputValues = ArrayLike<number> | ArrayLike<bigint>;

/**
 * max |a - b| over paired outputs, and the largest |a| (the scale the tolerance is relative to).
 * Different lengths or counts give Infinity; NaN in both at one position counts as equal, in one as Infinity.
 */
export function compareOutputs(a: readonly OutputValues[], b: readonly OutputValues[]): { maxAbsDiff: number; scale: number } {
  if (a.length !== b.length) return { maxAbsDiff: Infinity, scale: 0 };
  let worst = 0;
  let scale = 0;
  for (let t = 0; t < a.length; t++) {
    const x = a[t]!;
    const y = b[t]!;
    if (x.length !== y.length) return { maxAbsDiff: Infinity, scale };
    for (let i = 0; i < x.length; i++) {
      const u = Number(x[i]!);
      const v = Number(y[i]!);
      if (Number.isFinite(u)) scale = Math.max(scale, Math.abs(u));
      if (u === v || (Number.isNaN(u) && Number.isNaN(v))) continue;
      // One NaN, or infinities that differ: Math.abs gives NaN or Infinity; both count as Infinity.
      const d = Math.abs(u - v);
      worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
    }
  }
  return { maxAbsDiff: worst, scale };
}

/** Whether a comparison is within `tolerance` relative to max(1, scale). */
export function withinTolerance(c: { maxAbsDiff: number; scale: number }, tolerance: number): boolean {
  return c.maxAbsDiff <= tolerance * Math.max(1, c.scale);
}

/** What the probe learnt before deciding whether to try webgpu. */
export interface PreWebgpu {
  wasmMs: number;
  /** undefined: no adapter. */
  adapter: AdapterFacts | undefined;
}

/** Why webgpu is not tried, or undefined when it should be. */
export function skipWebgpu(pre: PreWebgpu, policy: ProbePolicy): string | undefined {
  if (!pre.adapter) return 'no WebGPU adapter';
  if (pre.adapter.isFallbackAdapter && !policy.includeFallbackAdapters) {
    return `webgpu not tried: the adapter (${describeAdapter(pre.adapter)}) is a fallback (software) adapter running on the CPU wasm already uses`;
  }
  if (pre.wasmMs < policy.minWasmMs) {
    return `webgpu not tried: wasm took ${pre.wasmMs.toFixed(2)} ms, under the ${policy.minWasmMs} ms a GPU dispatch and readback cost`;
  }
  return undefined;
}

/** How the webgpu leg ended. */
export type WebgpuOutcome =
  | { kind: 'failed'; message: string }
  | { kind: 'warmup-timeout'; capMs: number }
  | { kind: 'slower'; warmupMs: number; deadlineMs: number }
  | { kind: 'done'; warmupMs: number; webgpuMs: number; comparison: { maxAbsDiff: number; scale: number } };

/** The deadline (ms) for webgpu's timed run: past it webgpu cannot win. */
export function webgpuDeadlineMs(wasmMs: number, policy: ProbePolicy): number {
  return wasmMs * policy.winMargin;
}

/** The EP and reason for a finished webgpu leg. */
export function decide(wasmMs: number, outcome: WebgpuOutcome, policy: ProbePolicy): { ep: ProbeEp; reason: string } {
  switch (outcome.kind) {
    case 'failed':
      return { ep: 'wasm', reason: `webgpu failed: ${outcome.message}` };
    case 'warmup-timeout':
      return { ep: 'wasm', reason: `webgpu session + warm-up exceeded the ${outcome.capMs} ms cap` };
    case 'slower':
      return { ep: 'wasm', reason: `webgpu's timed run exceeded ${outcome.deadlineMs.toFixed(1)} ms (${policy.winMargin} x wasm's ${wasmMs.toFixed(1)} ms)` };
    case 'done': {
      const { maxAbsDiff, scale } = outcome.comparison;
      if (!withinTolerance(outcome.comparison, policy.tolerance)) {
        return {
          ep: 'wasm',
          reason: `webgpu outputs disagree with wasm: max abs diff ${maxAbsDiff.toExponential(2)} > ${policy.tolerance} x max(1, ${scale.toPrecision(3)})`,
        };
      }
      if (outcome.webgpuMs > webgpuDeadlineMs(wasmMs, policy)) {
        return { ep: 'wasm', reason: `webgpu ${outcome.webgpuMs.toFixed(1)} ms is not under ${policy.winMargin} x wasm's ${wasmMs.toFixed(1)} ms` };
      }
      return { ep: 'webgpu', reason: `webgpu ${outcome.webgpuMs.toFixed(1)} ms vs wasm ${wasmMs.toFixed(1)} ms, outputs within ${maxAbsDiff.toExponential(2)}` };
    }
  }
}
