/**
 * Splitting a model into stages balanced by measured time, so a pipeline's slowest stage is as fast as it can be.
 *
 * 1. Split into `fineStages` fine stages with the same number of computing nodes each (a cost of 1 per node), and
 *    time them as a chain on the sample input (stage-timing.ts).
 * 2. Spread each fine stage's time over its nodes (src/model/measured-cost.ts) and split into `stages` by that cost.
 * 3. `refine` times: time the coarse stages, rescale each one's node costs to its measured time, split again; the
 *    split whose measured times are closest (lowest slowest-to-fastest ratio) is returned.
 * Each stage's weight bytes stay in the plan: a stage balanced by time may hold more of the weights than another,
 * and must still fit its contributor's memory.
 */
import type { StagePlan } from '../model/index.ts';
import { timeStages, type StageRuntime } from './stage-timing.ts';
import type { InputTensor } from './types.ts';

/** Options of a split balanced by time. */
export interface TimeBalanceOptions {
  stages: number;
  balance: 'time';
  /** A sample input by name (e.g. one item), run through the model to time it. */
  sample: Record<string, InputTensor>;
  /** Fine stages timed first (default 16; fewer when the model has fewer cut points). */
  fineStages?: number;
  /** Timed rounds per measurement, median taken (default 5). */
  runs?: number;
  /** Re-splits from the measured coarse stages (default 1). */
  refine?: number;
}

/** How a time-balanced split was measured. */
export interface StageTiming {
  /** The fine stages' median ms, in order. */
  fineMs: number[];
  /** The returned stages' median ms, measured on the sample, and slowest over fastest. */
  stageMs: number[];
  ratio: number;
  /** Every coarse split tried, its stages' measured ms (the first from the fine times, the rest refined). */
  rounds: number[][];
}

/** A stage plan balanced by measured time: `balance.by` is 'cost' (ms), and `timing` says how it was measured. */
export interface TimedStagePlan extends StagePlan {
  timing: StageTiming;
}

const DEFAULT_FINE = 16;
const DEFAULT_RUNS = 5;
const MAX_REFINE = 8;

/** Splits `bytes` into `options.stages` stages balanced by time measured with `runtime`. */
export async function splitByTime<T>(bytes: Uint8Array, options: TimeBalanceOptions, runtime: StageRuntime<T>): Promise<TimedStagePlan> {
  const { partitionOnnx, rescaleToMeasured, spreadStageTimes } = await import('../model/index.ts');
  const k = options.stages;
  const runs = options.runs ?? DEFAULT_RUNS;
  const refine = options.refine ?? 1;
  if (!Number.isInteger(refine) || refine < 0 || refine > MAX_REFINE) {
    throw new RangeError(`Cannot balance stages by time as 'refine' must be an integer in [0, ${MAX_REFINE}]: current value is ${refine}`);
  }
  if (options.sample === null || typeof options.sample !== 'object' || Object.keys(options.sample).length === 0) {
    throw new TypeError(`Cannot balance stages by time as 'sample' must hold the model's inputs by name: current value is ${JSON.stringify(options.sample)}`);
  }
  // One cost per graph node; Constant nodes' entries are ignored by the partitioner.
  const probe = partitionOnnx(bytes, { stages: 1 });
  const graphNodes = Math.max(...probe.order) + 1;
  const fineWanted = options.fineStages ?? Math.max(DEFAULT_FINE, 4 * k);
  if (!Number.isInteger(fineWanted) || fineWanted < k) {
    throw new RangeError(`Cannot balance stages by time as 'fineStages' must be an integer >= stages (${k}): current value is ${fineWanted}`);
  }
  const even = new Array<number>(graphNodes).fill(1);
  const fine = splitAtMost(partitionOnnx, bytes, Math.min(fineWanted, probe.computingNodes), even, k);
  const fineMs = await timeStages(runtime, fine.stages, options.sample, runs);
  let cost = spreadStageTimes(fine.stages.map((s) => s.nodes), fineMs, probe.nodeWeightBytes, probe.order, graphNodes);

  let best: { plan: StagePlan; ms: number[]; ratio: number } | undefined;
  const rounds: number[][] = [];
  for (let round = 0; round <= refine; round++) {
    const plan = partitionOnnx(bytes, { stages: k, balance: { cost } });
    const ms = await timeStages(runtime, plan.stages, options.sample, runs);
    rounds.push(ms);
    const ratio = Math.min(...ms) > 0 ? Math.max(...ms) / Math.min(...ms) : Infinity;
    if (!best || ratio < best.ratio) best = { plan, ms, ratio };
    cost = rescaleToMeasured(cost, plan.stages.map((s) => s.nodes), ms, probe.order);
  }
  return { ...best!.plan, timing: { fineMs, stageMs: best!.ms, ratio: best!.ratio, rounds } };
}

/** A split into as many of `want` stages as the model's cut points allow (at least `k`). */
function splitAtMost(
  partition: (b: Uint8Array, o: { stages: number; balance: { cost: readonly number[] } }) => StagePlan,
  bytes: Uint8Array,
  want: number,
  cost: readonly number[],
  k: number,
): StagePlan {
  for (let f = want; ; f = Math.max(k, Math.floor(f * 0.75))) {
    try {
      return partition(bytes, { stages: f, balance: { cost } });
    } catch (e) {
      if (f === k) throw e;
    }
  }
}
