/**
 * The cost model shared by the client SDK (to show a job's worst-case price) and the coordinator (to hold
 * escrow and settle shards). All amounts are integer micro-credits; every function is exact integer
 * arithmetic, so browser and coordinator always agree to the last micro-credit.
 *
 * Escrow rule (why `escrowFor` always covers what the market can pay):
 * - a run of a shard pays the contributor `workUnits * price` with `price <= bid`, plus a protocol fee
 *   `feeFor(payment)` charged to the client; `feeFor` never decreases as the payment grows, so one run costs
 *   at most `shardMaxCost(workUnits, bid)`;
 * - any shard may be paid for at most three runs: the primary, a verification replica (the client's sample or
 *   the coordinator's credibility-based replication, decided only when the shard is assigned), and a
 *   tie-breaker or the arbitration run of a complaint; so the escrow holds three runs of every shard, and
 *   what is not spent is refunded when the job ends;
 * - the fee is computed per settlement, so the escrow sums per-run costs rather than applying the fee rate to
 *   the job total.
 *
 * Fee rounding: `floor(amount * feeRate)`, so a fee never exceeds the stated rate of what it is charged on
 * (rounding up charged a 1 micro-credit payment a 1 micro-credit fee: 100%, not 5%). Payments under
 * 1 / feeRate micro-credits (20 at 5%) carry no fee.
 */

/** Micro-credits in one credit. */
export const MICRO = 1_000_000;
/** Protocol fee as a fraction of each contributor payment, charged to the client. */
export const FEE_RATE = 0.05;
/** Credits minted for a new peer account, in micro-credits (1000 credits). */
export const STARTER_CREDITS = 1000 * MICRO;
/** Default client bid in micro-credits per work unit. */
export const DEFAULT_BID = 2;
/** Default contributor ask in micro-credits per work unit. */
export const DEFAULT_ASK_PRICE = 1;
/** Runs a shard may be paid for: primary, replica and tie-breaker (or arbitration). */
export const MAX_PAID_RUNS = 3;
/** Work units per ONNX batch item. */
export const WORK_UNITS_PER_ITEM = 1000;

const PPM = 1_000_000n;

/** Contributor payment for one run: `workUnits * price`, both non-negative integers, exact. */
export function shardPayment(workUnits: number, price: number): number {
  checkCount('compute a shard payment', 'workUnits', workUnits);
  checkCount('compute a shard payment', 'price', price);
  return toSafe('compute a shard payment', `${workUnits} * ${price}`, BigInt(workUnits) * BigInt(price));
}

/**
 * The protocol fee on one payment: `floor(amount * feeRate)` (never above the rate), computed exactly. `feeRate` must be a whole
 * number of parts per million in [0, 1] (0.05 is 50000 ppm), so no float rounding can shift the fee.
 */
export function feeFor(amount: number, feeRate: number = FEE_RATE): number {
  checkCount('compute a fee', 'amount', amount);
  const ppm = feeRatePpm(feeRate);
  return toSafe('compute a fee', `fee on ${amount}`, (BigInt(amount) * ppm) / PPM);
}

/** What one settled run moves out of escrow: the contributor's `amount` and the protocol `fee`. */
export function settlementFor(workUnits: number, price: number, feeRate: number = FEE_RATE): { amount: number; fee: number } {
  const amount = shardPayment(workUnits, price);
  return { amount, fee: feeFor(amount, feeRate) };
}

/** The most one run of a shard can cost its client at this bid: payment plus fee. */
export function shardMaxCost(workUnits: number, bid: number, feeRate: number = FEE_RATE): number {
  const { amount, fee } = settlementFor(workUnits, bid, feeRate);
  return toSafe('compute a shard cost', `${amount} + ${fee}`, BigInt(amount) + BigInt(fee));
}

/** Inputs to `escrowFor`. */
export interface EscrowRequest {
  /** Each shard's work units, in shard order. */
  shards: readonly { workUnits: number }[];
  /** Maximum micro-credits per work unit the client pays. */
  bid: number;
  /** Fee rate (default FEE_RATE). */
  feeRate?: number;
}

/**
 * The escrow that covers every payment the market can make for a job: the sum over shards of
 * `MAX_PAID_RUNS * shardMaxCost(workUnits, bid)` (see file header).
 */
export function escrowFor(req: EscrowRequest): number {
  const { shards, bid, feeRate = FEE_RATE } = req;
  let total = 0n;
  for (const shard of shards) total += BigInt(MAX_PAID_RUNS) * BigInt(shardMaxCost(shard.workUnits, bid, feeRate));
  return toSafe('compute an escrow', `the escrow for ${shards.length} shards`, total);
}

/** Work units of an ONNX shard of `items` batch items (1000 per item). */
export function workUnitsForOnnx(items: number): number {
  checkPositive('count ONNX work units', 'items', items);
  return toSafe('count ONNX work units', `${items} items`, BigInt(items) * BigInt(WORK_UNITS_PER_ITEM));
}

/** Work units of a matmul tile C[m,n] = A[m,k] B[k,n]: its MFLOP, `ceil(2mnk / 1e6)`, at least 1. */
export function workUnitsForMatmul(m: number, n: number, k: number): number {
  checkPositive('count matmul work units', 'm', m);
  checkPositive('count matmul work units', 'n', n);
  checkPositive('count matmul work units', 'k', k);
  const flops = 2n * BigInt(m) * BigInt(n) * BigInt(k);
  const units = (flops + PPM - 1n) / PPM;
  return toSafe('count matmul work units', `a ${m}x${k}x${n} matmul`, units > 1n ? units : 1n);
}

/** A fee rate as whole parts per million; throws RangeError outside [0, 1] or finer than 1 ppm. */
export function feeRatePpm(feeRate: number): bigint {
  if (typeof feeRate !== 'number' || !Number.isFinite(feeRate) || feeRate < 0 || feeRate > 1) {
    throw new RangeError(`Cannot use a fee rate as it must be a number in [0, 1]: current value is ${feeRate}`);
  }
  const scaled = feeRate * 1e6;
  const ppm = Math.round(scaled);
  // 0.07 * 1e6 is 70000.00000000001 in binary floating point: accept that, reject genuinely finer rates.
  if (Math.abs(scaled - ppm) > 1e-6) {
    throw new RangeError(`Cannot use a fee rate finer than one part per million: current value is ${feeRate}`);
  }
  return BigInt(ppm);
}

function checkCount(action: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot ${action} as '${name}' must be a non-negative integer: current value is ${value}`);
  }
}

function checkPositive(action: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot ${action} as '${name}' must be a positive integer: current value is ${value}`);
  }
}

function toSafe(action: string, what: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`Cannot ${action} as ${what} exceeds Number.MAX_SAFE_INTEGER: current value is ${value}`);
  }
  return Number(value);
}
