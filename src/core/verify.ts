/**
 * Comparing two runs of the same shard. GPUs and CPUs differ in the last bits of float results, so replicas
 * are equal when every element is within `abs + rel * max(|x|, |y|)` of the other (numpy's allclose, made
 * symmetric). NaN never equals anything, so a run that produced NaN cannot outvote one that did not.
 * Integer tensors (int32, uint32, int64, uint8: class indices, token ids, counts) are compared exactly, whatever
 * the tolerance: float tolerance on an index would pass a different class (rel 1e-3 lets 5000 pass for 5001),
 * and int64 is compared as bigint, so values beyond 2^53 that round to one double still differ.
 */
import type { TensorData } from '../protocol/tensor.ts';
import { typedView } from './sharding.ts';

/** Allowed difference between replicated outputs. */
export interface Tolerance {
  abs: number;
  rel: number;
}

/** Outcome of a comparison; `firstBad` is the flat index of the first element out of tolerance. */
export interface CompareResult {
  ok: boolean;
  maxAbs: number;
  maxRel: number;
  firstBad?: number;
  /** Why the tensors could not be compared element by element (shape or dtype differ). */
  reason?: string;
}

type Comparable = Pick<TensorData, 'dtype' | 'dims' | 'data'>;

/** Compares two tensors element by element within a tolerance. */
export function compareTensors(a: Comparable, b: Comparable, tol: Tolerance): CompareResult {
  if (!(tol.abs >= 0) || !(tol.rel >= 0)) {
    throw new RangeError(`Cannot compare as tolerances must be non-negative: current value is ${JSON.stringify(tol)}`);
  }
  if (a.dtype !== b.dtype || a.dims.join() !== b.dims.join() || a.data.byteLength !== b.data.byteLength) {
    return {
      ok: false,
      maxAbs: Infinity,
      maxRel: Infinity,
      firstBad: 0,
      reason: `shapes differ: ${a.dtype}[${a.dims}] (${a.data.byteLength} bytes) vs ${b.dtype}[${b.dims}] (${b.data.byteLength} bytes)`,
    };
  }
  const x = typedView(a.dtype, a.data);
  const y = typedView(b.dtype, b.data);
  let maxAbs = 0;
  let maxRel = 0;
  let firstBad: number | undefined;
  const exact = a.dtype !== 'float32';
  for (let i = 0; i < x.length; i++) {
    const u = Number(x[i]!);
    const v = Number(y[i]!);
    if (exact) {
      if (x[i] === y[i]) continue;
      const diff = u === v ? 1 : Math.abs(u - v); // at least 1 apart when the doubles round together
      maxAbs = Math.max(maxAbs, diff);
      maxRel = Math.max(maxRel, diff / Math.max(Math.abs(u), Math.abs(v), 1));
      firstBad ??= i;
      continue;
    }
    let diff: number;
    let rel: number;
    if (u === v) {
      // Covers equal infinities, whose difference would be NaN.
      diff = 0;
      rel = 0;
    } else {
      diff = Math.abs(u - v);
      if (Number.isNaN(diff)) diff = Infinity;
      const scale = Math.max(Math.abs(u), Math.abs(v));
      rel = scale === 0 ? 0 : diff / scale;
      if (Number.isNaN(rel)) rel = Infinity;
    }
    if (diff > maxAbs) maxAbs = diff;
    if (rel > maxRel) maxRel = rel;
    if (firstBad === undefined && (diff === Infinity || !(diff <= tol.abs + tol.rel * Math.max(Math.abs(u), Math.abs(v))))) firstBad = i;
  }
  return firstBad === undefined ? { ok: true, maxAbs, maxRel } : { ok: false, maxAbs, maxRel, firstBad };
}

/** Compares two lists of tensors pairwise; ok only if both have the same count and every pair is ok. */
export function compareOutputs(a: readonly Comparable[], b: readonly Comparable[], tol: Tolerance): CompareResult {
  if (a.length !== b.length) {
    return { ok: false, maxAbs: Infinity, maxRel: Infinity, firstBad: 0, reason: `output counts differ: ${a.length} vs ${b.length}` };
  }
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < a.length; i++) {
    const r = compareTensors(a[i]!, b[i]!, tol);
    maxAbs = Math.max(maxAbs, r.maxAbs);
    maxRel = Math.max(maxRel, r.maxRel);
    if (!r.ok) return { ...r, maxAbs, maxRel, reason: `output ${i}: ${r.reason ?? `element ${r.firstBad} out of tolerance`}` };
  }
  return { ok: true, maxAbs, maxRel };
}

/**
 * Picks the runs that agree with a strict majority: given outputs of n runs, returns the indices of the
 * largest group of mutually-equal runs if it has more than n/2 members, else an empty list.
 */
export function majority(runs: readonly (readonly Comparable[])[], tol: Tolerance): number[] {
  let best: number[] = [];
  for (let i = 0; i < runs.length; i++) {
    const group = [i];
    for (let j = 0; j < runs.length; j++) {
      if (j !== i && compareOutputs(runs[i]!, runs[j]!, tol).ok) group.push(j);
    }
    if (group.length > best.length) best = group.sort((p, q) => p - q);
  }
  return best.length * 2 > runs.length ? best : [];
}
