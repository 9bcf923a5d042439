/**
 * What the client knows of the mesh when it plans a job's shards (core/shard-size.ts): the coordinator's
 * aggregates by kernel kind (`/api/capacity`: eligible contributors and their median measured speed) and this
 * session's own link to contributors, measured on its leases (the `shard` -> `need` round trip, and how fast an
 * inputs blob of at least MIN_SAMPLE_BYTES went out).
 *
 * Planning never waits for these: a job copies the caller's arrays before it returns, so it is sized with what
 * is known at that moment (nothing at all: the defaults). The coordinator's figures are fetched when the session
 * starts and again, in the background, when a job is planned and they are older than REFRESH_MS. Whatever the
 * coordinator answers is validated here and clamped again by the sizing rules.
 */
import { KERNEL_KINDS } from '../core/kernels/index.ts';
import type { MeshFigures } from '../core/shard-size.ts';
import type { KernelKind } from '../protocol/kernel.ts';

/** Kernel kinds the coordinator reports: every kind (src/core/kernels). */
export type FigureKind = KernelKind;
/** How old the coordinator's figures may be before a plan asks for fresh ones. */
export const REFRESH_MS = 10_000;
/** How long a request for them may take. */
export const FETCH_TIMEOUT_MS = 2_000;
/** Link samples kept (the latest). */
export const LINK_SAMPLES = 32;
/** Smallest inputs blob whose sending time says something about bandwidth. */
export const MIN_SAMPLE_BYTES = 64 * 1024;

type KindFigures = { contributors: number; unitsPerSec: number | undefined };

/** Validates a `/api/capacity` body; kinds that are missing or malformed are left out. */
export function parseCapacity(body: unknown): Partial<Record<FigureKind, KindFigures>> {
  const out: Partial<Record<FigureKind, KindFigures>> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const kind of KERNEL_KINDS) {
    const k = (body as Record<string, unknown>)[kind];
    if (typeof k !== 'object' || k === null) continue;
    const { active, unitsPerSec } = k as Record<string, unknown>;
    if (typeof active !== 'number' || !Number.isSafeInteger(active) || active < 0) continue;
    const speed = typeof unitsPerSec === 'number' && Number.isFinite(unitsPerSec) && unitsPerSec > 0 ? unitsPerSec : undefined;
    out[kind] = { contributors: active, unitsPerSec: speed };
  }
  return out;
}

/** The latest round trips and upload rates this session measured on its leases. */
export class LinkMeter {
  readonly #rtt: number[] = [];
  readonly #rate: number[] = [];

  /** A `shard` -> `need` round trip, ms. */
  recordRtt(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) push(this.#rtt, ms);
  }

  /** An inputs blob of `bytes` that took `ms` to send. */
  recordSend(bytes: number, ms: number): void {
    if (bytes >= MIN_SAMPLE_BYTES && Number.isFinite(ms)) push(this.#rate, (bytes / Math.max(ms, 1)) * 1000);
  }

  /** Median upload rate, bytes per second (undefined before a sample). */
  get bytesPerSec(): number | undefined {
    return median(this.#rate);
  }

  /** Median round trip, ms (undefined before a sample). */
  get rttMs(): number | undefined {
    return median(this.#rtt);
  }
}

/** The coordinator's figures, kept fresh in the background, and this session's link. */
export class MeshFigureSource {
  readonly link = new LinkMeter();
  #kinds: Partial<Record<FigureKind, KindFigures>> = {};
  #at = -Infinity;
  #inFlight = false;

  /** `base`: the coordinator in use now (it may change). */
  constructor(readonly base: () => string, readonly fetcher: typeof fetch = (...a) => fetch(...a)) {}

  /** Asks the coordinator again if the figures are older than REFRESH_MS (and no request is under way). */
  refresh(now = performance.now()): void {
    if (this.#inFlight || now - this.#at < REFRESH_MS) return;
    this.#inFlight = true;
    this.fetcher(`${this.base()}/api/capacity`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-store' })
      .then((res) => (res.ok ? res.json() : undefined))
      .then((body: unknown) => {
        this.#kinds = parseCapacity(body);
        this.#at = performance.now();
      })
      .catch(() => {
        this.#at = performance.now(); // an old coordinator or none: try again after REFRESH_MS
      })
      .finally(() => (this.#inFlight = false));
  }

  /** What is known now for `kind` (empty when nothing is). */
  figures(kind: FigureKind): MeshFigures {
    const k = this.#kinds[kind];
    return { contributors: k?.contributors, unitsPerSec: k?.unitsPerSec, bytesPerSec: this.link.bytesPerSec, rttMs: this.link.rttMs };
  }
}

function push(ring: number[], v: number): void {
  ring.push(v);
  if (ring.length > LINK_SAMPLES) ring.shift();
}

function median(v: readonly number[]): number | undefined {
  if (v.length === 0) return undefined;
  const s = [...v].sort((a, b) => a - b);
  return s[(s.length - 1) >> 1];
}
