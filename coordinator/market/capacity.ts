/**
 * What the mesh can do for each kernel kind, in aggregate, for clients sizing their shards (core/shard-size.ts):
 * how many active contributors could run the kind, how many of them were timed on it, and their median speed
 * (work units per second of one lease, from lease to claim of their runs of that kind). No peer id or
 * per-contributor figure leaves the coordinator.
 *
 * Cost: recording is O(1); a summary is one pass over the active contributors plus a sort of the speeds, and
 * is kept SUMMARY_TTL_MS so a flood of requests costs one pass per interval. Speeds are kept for at most
 * MAX_TIMED peers per kind (the longest untimed forgotten first).
 */
import { ableToRun, KERNEL_KINDS } from '../../src/core/kernels/index.ts';
import type { KernelKind } from '../../src/protocol/kernel.ts';
import type { Contributor } from './contributors.ts';

/** Kernel kinds a summary covers: every kind (src/core/kernels). */
export const KINDS = KERNEL_KINDS;
/** Peers whose speed is kept per kind. */
export const MAX_TIMED = 100_000;
/** How long a summary is served before it is computed again. */
export const SUMMARY_TTL_MS = 1_000;

/** Aggregates of one kind. `unitsPerSec` is null until a contributor was timed on it. */
export interface KindCapacity {
  active: number;
  measured: number;
  unitsPerSec: number | null;
}

/** `/api/capacity` response. */
export type CapacityResponse = { [K in KernelKind]: KindCapacity };

/** Measured speeds by kind and the summary served from them. */
export class CapacityBook {
  readonly #speeds = new Map<KernelKind, Map<string, number>>(KINDS.map((k) => [k, new Map()]));
  #summary: { at: number; value: CapacityResponse } | undefined;

  /** Records a run of `kind` that took `ms` for `workUnits` (a moving average per peer). */
  record(kind: KernelKind, peerId: string, workUnits: number, ms: number): void {
    const map = this.#speeds.get(kind);
    if (!map || !(workUnits > 0)) return;
    const speed = (workUnits / Math.max(ms, 1)) * 1000;
    const prev = map.get(peerId);
    map.delete(peerId); // re-inserted last: the map's order is the eviction order
    map.set(peerId, prev === undefined ? speed : prev * 0.8 + speed * 0.2);
    if (map.size > MAX_TIMED) map.delete(map.keys().next().value!);
  }

  /** The speed of `peerId` on `kind`, if timed. */
  speed(kind: KernelKind, peerId: string): number | undefined {
    return this.#speeds.get(kind)!.get(peerId);
  }

  /** Aggregates over `contributors` (only active ones count), at most SUMMARY_TTL_MS old. */
  summary(contributors: () => Iterable<Contributor>, now = performance.now()): CapacityResponse {
    if (this.#summary && now - this.#summary.at < SUMMARY_TTL_MS) return this.#summary.value;
    const acc = Object.fromEntries(KINDS.map((k) => [k, { active: 0, speeds: [] as number[] }])) as Record<KernelKind, { active: number; speeds: number[] }>;
    for (const c of contributors()) {
      if (c.state !== 'active') continue;
      for (const kind of KINDS) {
        if (!canRun(c, kind)) continue;
        const a = acc[kind];
        a.active++;
        const v = this.speed(kind, c.peerId);
        if (v !== undefined) a.speeds.push(v);
      }
    }
    const value = Object.fromEntries(KINDS.map((k) => {
      const { active, speeds } = acc[k];
      speeds.sort((x, y) => x - y);
      return [k, { active, measured: speeds.length, unitsPerSec: speeds.length === 0 ? null : speeds[(speeds.length - 1) >> 1]! }];
    })) as CapacityResponse;
    this.#summary = { at: now, value };
    return value;
  }
}

/** Whether a contributor's capabilities can run a kind at all (its rules' `able`; kernel and shard aside). */
function canRun(c: Contributor, kind: KernelKind): boolean {
  return ableToRun(c.caps, kind);
}
