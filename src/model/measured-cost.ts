/**
 * Per-node costs from measured stage times, for balancing a split by time rather than weight bytes.
 *
 * A model is first split into many fine stages (each a contiguous range of computing nodes in the topological
 * order) and each fine stage is timed; here each stage's time is spread over its nodes: half evenly, half in
 * proportion to the weight bytes each node reads (a convolution or matmul with more weights does more work than
 * the reshape next to it; a stage with no weights is spread evenly). Partitioning by the resulting costs puts cuts
 * at fine-stage boundaries where the times allow and inside a fine stage by the spread. A refinement step rescales
 * each coarse stage's nodes by its measured over predicted time, so a second split corrects the spread's errors.
 */

/** A stage as far as costs go: its node range [start, end) in the topological order. */
export interface CostRange {
  start: number;
  end: number;
}

/**
 * Spreads `ms[i]` over the nodes of `ranges[i]` (half evenly, half by `weightBytes`, both by position) and returns
 * one cost per graph node (`order[p]` is the graph index of position p; nodes outside `order`, such as Constant
 * nodes, cost 0). The ranges must tile [0, order.length) in order; times must be finite and >= 0.
 */
export function spreadStageTimes(
  ranges: readonly CostRange[],
  ms: readonly number[],
  weightBytes: readonly number[],
  order: readonly number[],
  graphNodes: number,
): number[] {
  const n = order.length;
  if (ranges.length !== ms.length) throw new RangeError(`Cannot spread stage times as there are ${ms.length} times for ${ranges.length} stages`);
  if (weightBytes.length !== n) throw new RangeError(`Cannot spread stage times as 'weightBytes' must hold one number per computing node (${n}): current length is ${weightBytes.length}`);
  let at = 0;
  for (const [i, r] of ranges.entries()) {
    if (r.start !== at || r.end <= r.start || r.end > n) throw new RangeError(`Cannot spread stage times as stage ${i} covers [${r.start}, ${r.end}) where [${at}, ...) was expected`);
    const t = ms[i]!;
    if (!Number.isFinite(t) || t < 0) throw new RangeError(`Cannot spread stage times as stage ${i}'s time must be a finite number >= 0: current value is ${t}`);
    at = r.end;
  }
  if (at !== n) throw new RangeError(`Cannot spread stage times as the stages end at node ${at} of ${n}`);
  const cost = new Array<number>(graphNodes).fill(0);
  for (const [i, r] of ranges.entries()) {
    const count = r.end - r.start;
    let bytes = 0;
    for (let p = r.start; p < r.end; p++) bytes += weightBytes[p]!;
    const t = ms[i]!;
    for (let p = r.start; p < r.end; p++) {
      const share = bytes > 0 ? 0.5 / count + (0.5 * weightBytes[p]!) / bytes : 1 / count;
      cost[order[p]!] = t * share;
    }
  }
  return cost;
}

/**
 * Rescales per-node costs so each stage's nodes sum to its measured time: `cost` (one per graph node) is what the
 * split predicted, `ms[i]` what stage i took. A stage predicted at 0 gets its time spread evenly.
 */
export function rescaleToMeasured(cost: readonly number[], ranges: readonly CostRange[], ms: readonly number[], order: readonly number[]): number[] {
  if (ranges.length !== ms.length) throw new RangeError(`Cannot rescale costs as there are ${ms.length} times for ${ranges.length} stages`);
  const out = cost.slice();
  for (const [i, r] of ranges.entries()) {
    let predicted = 0;
    for (let p = r.start; p < r.end; p++) predicted += cost[order[p]!]!;
    const t = ms[i]!;
    if (!Number.isFinite(t) || t < 0) throw new RangeError(`Cannot rescale costs as stage ${i}'s time must be a finite number >= 0: current value is ${t}`);
    for (let p = r.start; p < r.end; p++) {
      const g = order[p]!;
      out[g] = predicted > 0 ? (cost[g]! * t) / predicted : t / (r.end - r.start);
    }
  }
  return out;
}
