/**
 * How big a job's shards are, from what was measured of the mesh: the typical contributor's speed (work units
 * per second of a lease, as the coordinator timed its runs), how many contributors could take the job, and the
 * client's own link (bytes per second and round trip). The rules, in order:
 *
 * 1. A shard takes about TARGET_MS on the median contributor, counting whichever of computing it and moving its
 *    inputs is slower (the two overlap): long enough that per-shard costs (a round trip, a lease, a claim)
 *    are a small share, short enough that a slow or lost shard costs little and the tail stays short.
 * 2. There are at least SHARDS_PER_CONTRIBUTOR shards per eligible contributor, so a fast peer takes more
 *    shards than a slow one (load balance beats rule 1)...
 * 3. ...but a shard is never under MIN_SHARD_MS of work, nor so small that one round trip is over RTT_SHARE of
 *    its time: finer splits only add overhead (a tiny job is one shard).
 * 4. Never more than MAX_PLANNED_SHARDS shards (submit frames and the coordinator's per-client caps stay far
 *    below their limits), nor a shard's inputs over the protocol's blob size.
 *
 * Without a measured speed there is nothing to size by: the caller's default stands (the batch in 16 shards, a
 * 512-side matmul tile). Figures are clamped to plausible ranges first: a coordinator or a stale cache that
 * says a contributor does 1e300 units per second cannot make a job one shard, nor 0 make it a million.
 */
import { MAX_BLOB_BYTES } from '../protocol/peer.ts';

/** Time a shard should take on the median contributor. */
export const TARGET_MS = 3_000;
/** Shards per eligible contributor, at least. */
export const SHARDS_PER_CONTRIBUTOR = 3;
/** Least work a shard holds, in ms on the median contributor. */
export const MIN_SHARD_MS = 500;
/** Largest share of a shard's time one round trip may be. */
export const RTT_SHARE = 0.1;
/** Most shards a planned job has (the protocol allows 10,000). */
export const MAX_PLANNED_SHARDS = 2_048;
/** Shards a batch splits into when nothing was measured. */
export const DEFAULT_BATCH_SHARDS = 16;
/** Side of a matmul tile when nothing was measured. */
export const DEFAULT_TILE = 512;
/** Matmul tiles are multiples of this side (at least one). */
export const TILE_STEP = 32;

/** What was measured of the mesh for one kernel kind; every figure may be missing. */
export interface MeshFigures {
  /** Active contributors that could run the kernel. */
  contributors?: number | undefined;
  /** Their median measured speed: work units per second of one lease. */
  unitsPerSec?: number | undefined;
  /** The client's measured upload rate to contributors, bytes per second. */
  bytesPerSec?: number | undefined;
  /** The client's measured round trip to contributors, ms. */
  rttMs?: number | undefined;
}

/** Figures within plausible ranges; implausible or missing ones dropped. */
export function saneFigures(f: MeshFigures | undefined): MeshFigures {
  return {
    contributors: within(f?.contributors, 0, 1e6, Math.floor),
    unitsPerSec: within(f?.unitsPerSec, 1e-3, 1e12),
    bytesPerSec: within(f?.bytesPerSec, 1e3, 1e12),
    rttMs: within(f?.rttMs, 0, 60_000),
  };
}

/** A batch to split: `items` along axis 0, each of `unitsPerItem` work units and `bytesPerItem` input bytes. */
export interface BatchWork {
  items: number;
  unitsPerItem: number;
  bytesPerItem: number;
}

/** Items per shard of a batch (1 .. items). */
export function batchShardItems(work: BatchWork, figures?: MeshFigures): number {
  const { items, unitsPerItem, bytesPerItem } = work;
  if (!Number.isSafeInteger(items) || items < 1) throw new RangeError(`Cannot size shards as 'items' must be a positive integer: current value is ${items}`);
  const f = saneFigures(figures);
  const fallback = Math.ceil(items / DEFAULT_BATCH_SHARDS);
  if (f.unitsPerSec === undefined || !(unitsPerItem > 0)) return fallback;
  const computeMs = (unitsPerItem / f.unitsPerSec) * 1000;
  const moveMs = f.bytesPerSec === undefined ? 0 : (bytesPerItem / f.bytesPerSec) * 1000;
  const itemMs = Math.max(computeMs, moveMs, 1e-6);
  let per = Math.floor(TARGET_MS / itemMs);
  if (f.contributors) per = Math.min(per, Math.ceil(items / (SHARDS_PER_CONTRIBUTOR * f.contributors)));
  per = Math.max(per, Math.ceil(Math.max(MIN_SHARD_MS, (f.rttMs ?? 0) / RTT_SHARE) / itemMs));
  per = Math.max(per, Math.ceil(items / MAX_PLANNED_SHARDS));
  if (bytesPerItem > 0) per = Math.min(per, Math.max(1, Math.floor(MAX_BLOB_BYTES / bytesPerItem)));
  return Math.min(items, Math.max(1, per));
}

/** Side of the square tiles of C[m x n] = A[m x k] B[k x n]: a multiple of TILE_STEP, at most the larger side rounded up (DEFAULT_TILE unmeasured). */
export function matmulTileSide(dims: { m: number; n: number; k: number }, figures?: MeshFigures): number {
  const { m, n, k } = dims;
  for (const [name, v] of [['m', m], ['n', n], ['k', k]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`Cannot size matmul tiles as '${name}' must be a positive integer: current value is ${v}`);
  }
  const f = saneFigures(figures);
  const whole = Math.max(m, n);
  if (f.unitsPerSec === undefined) return bounded(DEFAULT_TILE, dims);
  // A t x t tile is 2 t^2 k / 1e6 work units and moves 8 t k input bytes (t rows of A, t columns of B); its time
  // is whichever is slower. Sides are walked in TILE_STEP steps (at most ~6,000 for a 200,000-wide product).
  const tileMs = (t: number) => Math.max(((2 * t * t * k) / 1e6 / f.unitsPerSec!) * 1000, f.bytesPerSec === undefined ? 0 : ((8 * t * k) / f.bytesPerSec) * 1000);
  const top = roundUp(whole);
  let side = TILE_STEP;
  while (side < top && tileMs(side + TILE_STEP) <= TARGET_MS) side += TILE_STEP;
  if (f.contributors) side = Math.min(side, Math.max(TILE_STEP, Math.floor(Math.sqrt((m * n) / (SHARDS_PER_CONTRIBUTOR * f.contributors)) / TILE_STEP) * TILE_STEP));
  const least = Math.max(MIN_SHARD_MS, (f.rttMs ?? 0) / RTT_SHARE);
  while (side < top && tileMs(side) < least) side += TILE_STEP;
  return bounded(side, dims);
}

/** `side` grown until the tiles are at most MAX_PLANNED_SHARDS, then shrunk until a tile's inputs fit a blob. */
function bounded(side: number, { m, n, k }: { m: number; n: number; k: number }): number {
  const whole = Math.max(m, n);
  while (side < whole && Math.ceil(m / side) * Math.ceil(n / side) > MAX_PLANNED_SHARDS) side += TILE_STEP;
  while (side > TILE_STEP && 8 * side * k > MAX_BLOB_BYTES) side -= TILE_STEP;
  return side;
}

function roundUp(v: number): number {
  return Math.ceil(v / TILE_STEP) * TILE_STEP;
}

function within(v: number | undefined, lo: number, hi: number, shape: (x: number) => number = (x) => x): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo) return undefined;
  return shape(Math.min(v, hi));
}
