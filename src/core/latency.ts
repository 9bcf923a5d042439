/**
 * Price tiers by latency and the result cache's rate: exact integer rules shared by the SDK (to show a job's
 * worst-case cost) and the coordinator (to hold escrow and pay runs).
 *
 * Tier rule: a job's latency budget (`JobSpec.latencyMs`) multiplies every run's price by an integer:
 * `TIGHT_MULTIPLIER` (3) for a budget of at most `TIGHT_MS` (20 ms), `NEAR_MULTIPLIER` (2) for at most
 * `NEAR_MS` (100 ms), 1 for a looser budget or none. The contributor's lease price is its ask times the
 * multiplier (so it earns the premium), and the escrow is computed at the bid times the multiplier, so it
 * covers every run exactly as before (cost.ts). Matching still compares the ask with the plain bid.
 *
 * Cache rule: a run answered from a contributor's cache of verified outputs pays `ceil(workUnits * price /
 * CACHE_DIVISOR)` (a tenth of computing it, at least 1 micro-credit when the price is not 0): less than a
 * compute run at the same price, so the escrow still covers it.
 */

/** Budgets (ms) at or under this are the tight tier. */
export const TIGHT_MS = 20;
/** Budgets (ms) at or under this (and over TIGHT_MS) are the near tier. */
export const NEAR_MS = 100;
/** Price multiplier of the tight tier. */
export const TIGHT_MULTIPLIER = 3;
/** Price multiplier of the near tier. */
export const NEAR_MULTIPLIER = 2;
/** A cached answer costs this fraction (1 / CACHE_DIVISOR) of computing it. */
export const CACHE_DIVISOR = 10;

/** The integer price multiplier of a latency budget (1 without one). */
export function latencyMultiplier(latencyMs: number | undefined): number {
  if (latencyMs === undefined) return 1;
  if (!Number.isFinite(latencyMs) || latencyMs <= 0) {
    throw new RangeError(`Cannot price a latency budget as it must be a positive number of ms: current value is ${latencyMs}`);
  }
  if (latencyMs <= TIGHT_MS) return TIGHT_MULTIPLIER;
  if (latencyMs <= NEAR_MS) return NEAR_MULTIPLIER;
  return 1;
}

/** Micro-credits paid for answering `workUnits` at `price` from the cache: a tenth of computing, rounded up. */
export function cachedPayment(workUnits: number, price: number): number {
  const full = BigInt(workUnits) * BigInt(price);
  const d = BigInt(CACHE_DIVISOR);
  const v = (full + d - 1n) / d;
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Cannot compute a cached payment as ${workUnits} * ${price} exceeds Number.MAX_SAFE_INTEGER`);
  }
  return Number(v);
}
