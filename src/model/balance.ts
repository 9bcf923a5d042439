/**
 * Splitting a sequence of non-negative costs into k contiguous, non-empty parts at allowed boundaries, balanced.
 *
 * First the largest part is made as small as it can be (B*: what must fit one contributor, and what bounds a
 * pipeline's throughput); then, for a few caps B from B* up to (1 + slack) B*, the smallest part is made as large
 * as it can be with every part <= B; the split with the lowest largest-to-smallest ratio wins (ties: the lighter
 * largest part). Capping at B* alone can strand a sliver: with one 3.18 MB weight alone at B*, the 26 KB node
 * after it must be a stage of its own, while a cap 1% higher joins them.
 *
 * Both searches bisect on a threshold. "Every part <= B" is checked greedily (extend each part as far as B allows:
 * optimal for costs that only grow as a part grows); "every part in [L, B]" by reachability, layer by layer (which
 * boundaries can end the t-th part), with prefix counts and two pointers so each layer is O(m) for m boundaries.
 */

/** A balanced split: boundaries `bounds[0] = 0 < ... < bounds[k] = n`; part i covers [bounds[i], bounds[i+1]). */
export interface Split {
  bounds: number[];
  /** The largest and smallest part cost. */
  max: number;
  min: number;
  /** The cost of the heaviest stretch between two allowed boundaries: no part can weigh less than it. */
  unit: number;
}

/** Bisection steps on non-integer costs; each halves the gap, so 100 is below any float resolution. */
const FLOAT_STEPS = 100;
/** Caps tried above B*, as fractions of the allowed slack. */
const CAP_STEPS = 8;

/**
 * Splits `costs` into `k` parts, cutting only where `allowed(b)` (b in 1..n-1: between items b-1 and b); the
 * largest part stays within (1 + slack) times the least possible. Throws a RangeError when fewer than k-1
 * boundaries are allowed.
 */
export function balancedSplit(
  costs: readonly number[],
  k: number,
  allowed: (b: number) => boolean = () => true,
  slack = 0.25,
): Split {
  const n = costs.length;
  const cuts = [0];
  for (let b = 1; b < n; b++) if (allowed(b)) cuts.push(b);
  cuts.push(n);
  if (k < 1 || cuts.length - 1 < k) {
    throw new RangeError(`Cannot split into ${k} parts as only ${cuts.length - 1} can be made: ${n} items, ${cuts.length - 2} allowed cuts`);
  }
  const prefix = [0];
  for (const c of costs) prefix.push(prefix[prefix.length - 1]! + c);
  const q = Float64Array.from(cuts, (b) => prefix[b]!);
  const integers = costs.every(Number.isInteger);

  let unit = 0;
  for (let a = 1; a < q.length; a++) unit = Math.max(unit, q[a]! - q[a - 1]!);
  const total = q[q.length - 1]!;
  const best = lowestFeasible(Math.max(unit, total / k), total, integers, (b) => partsAtMost(q, b) <= k);
  let chosen: Split | undefined;
  // The best floor only rises with the cap, so each search starts from the last one's answer.
  let floor = 0;
  for (let step = 0; step <= (slack > 0 ? CAP_STEPS : 0); step++) {
    const cap = integers ? Math.floor(best * (1 + (slack * step) / CAP_STEPS)) : best * (1 + (slack * step) / CAP_STEPS);
    const ceiling = Math.min(cap, integers ? Math.floor(total / k) : total / k);
    floor = highestFeasible(floor, Math.max(floor, ceiling), integers, (l) => reachable(q, k, l, cap) !== undefined);
    const bounds = pick(q, reachable(q, k, floor, cap)!, floor, cap).map((a) => cuts[a]!);
    const parts = bounds.slice(1).map((b, i) => prefix[b]! - prefix[bounds[i]!]!);
    const split = { bounds, max: Math.max(...parts), min: Math.min(...parts), unit };
    if (!chosen || ratio(split) < ratio(chosen) || (ratio(split) === ratio(chosen) && split.max < chosen.max)) chosen = split;
  }
  return chosen!;
}

const ratio = (s: Split) => (s.min > 0 ? s.max / s.min : s.max > 0 ? Infinity : 1);

/** The fewest parts with every part's cost <= limit (greedy), or Infinity when one unit exceeds it. */
function partsAtMost(q: Float64Array, limit: number): number {
  let parts = 0;
  for (let a = 0; a < q.length - 1; parts++) {
    const b = lastWithin(q, a, limit);
    if (b === a) return Infinity;
    a = b;
  }
  return parts;
}

/** The largest index b >= a with q[b] - q[a] <= limit. */
function lastWithin(q: Float64Array, a: number, limit: number): number {
  let lo = a;
  let hi = q.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (q[mid]! - q[a]! <= limit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The smallest index a with q[b] - q[a] <= limit (q ascending, so the difference falls as a rises). */
function firstWithin(q: Float64Array, b: number, limit: number): number {
  let lo = 0;
  let hi = b;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (q[b]! - q[mid]! <= limit) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The largest index a < b with q[b] - q[a] >= floor, or -1. */
function lastAtLeast(q: Float64Array, b: number, floor: number): number {
  let lo = -1;
  let hi = b - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (q[b]! - q[mid]! >= floor) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Layer t marks the cut indices that can end the t-th part with every part's cost in [floor, limit]; undefined
 * when the last index cannot end the k-th part.
 */
function reachable(q: Float64Array, k: number, floor: number, limit: number): Uint8Array[] | undefined {
  const m = q.length;
  const layers = [new Uint8Array(m)];
  layers[0]![0] = 1;
  const counts = new Int32Array(m + 1);
  for (let t = 1; t <= k; t++) {
    const prev = layers[t - 1]!;
    for (let a = 0; a < m; a++) counts[a + 1] = counts[a]! + prev[a]!;
    const layer = new Uint8Array(m);
    // Valid starts a for an end b: lo <= a <= hi, with lo = firstWithin(b, limit), hi = lastAtLeast(b, floor);
    // both only move forward as b grows.
    let lo = 0;
    let hi = -1;
    let any = 0;
    for (let b = 1; b < m; b++) {
      while (q[b]! - q[lo]! > limit) lo++;
      while (hi + 1 < b && q[b]! - q[hi + 1]! >= floor) hi++;
      if (b >= t && hi >= lo && counts[hi + 1]! - counts[lo]! > 0) any = layer[b] = 1;
    }
    if (!any) return undefined;
    layers.push(layer);
  }
  return layers[k]![m - 1] ? layers : undefined;
}

/** Walks the layers back from the last index, taking the latest valid start of each part. */
function pick(q: Float64Array, layers: readonly Uint8Array[], floor: number, limit: number): number[] {
  const k = layers.length - 1;
  const picks = [q.length - 1];
  for (let t = k, b = q.length - 1; t > 0; t--) {
    const lo = firstWithin(q, b, limit);
    let a = lastAtLeast(q, b, floor);
    while (a >= lo && !layers[t - 1]![a]) a--;
    picks.unshift(a);
    b = a;
  }
  return picks;
}

/** Bisects for the smallest value in [lo, hi] that `ok` accepts (`ok(hi)` must hold). */
function lowestFeasible(lo: number, hi: number, integers: boolean, ok: (v: number) => boolean): number {
  if (integers) lo = Math.ceil(lo);
  if (ok(lo)) return lo;
  for (let step = 0; step < FLOAT_STEPS && hi - lo > (integers ? 1 : 0); step++) {
    const mid = integers ? Math.floor((lo + hi) / 2) : (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Bisects for the largest value in [lo, hi] that `ok` accepts (`ok(lo)` must hold). */
function highestFeasible(lo: number, hi: number, integers: boolean, ok: (v: number) => boolean): number {
  if (ok(hi)) return hi;
  for (let step = 0; step < FLOAT_STEPS && hi - lo > (integers ? 1 : 0); step++) {
    const mid = integers ? Math.floor((lo + hi) / 2) : (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The smallest largest-to-smallest ratio any split into k parts can reach, as far as the heaviest unit alone
 * decides it: the part holding it weighs at least `unit`, so some other part weighs at most (total - unit)/(k-1).
 * 1 where the heaviest unit sets no bound.
 */
export function heaviestUnitBound(unit: number, total: number, k: number): number {
  if (k <= 1 || unit <= total / k) return 1;
  const rest = (total - unit) / (k - 1);
  return rest > 0 ? unit / rest : Infinity;
}
