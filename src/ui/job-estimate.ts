/**
 * What a job will cost, worked out before it is submitted, from the same integer cost model the coordinator
 * uses (src/core/cost.ts): the escrow held while it runs (three runs of every shard at the bid, plus fees) and
 * the expected charge when every shard runs once at the lowest ask on offer (a lease pays the contributor's
 * ask, never above the bid), plus the verification replicas the client asked for.
 */
import { escrowFor, settlementFor, workUnitsForMatmul, workUnitsForOnnx } from '../core/index.ts';

/** Work units of each shard of an ONNX batch of `items` split `perShard` at a time. */
export function onnxShardUnits(items: number, perShard: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < items; start += perShard) out.push(workUnitsForOnnx(Math.min(perShard, items - start)));
  return out;
}

/** Work units of each output tile of a square `size` matmul split into `tile` x `tile` tiles. */
export function matmulShardUnits(size: number, tile: number): number[] {
  const edges: number[] = [];
  for (let start = 0; start < size; start += tile) edges.push(Math.min(tile, size - start));
  return edges.flatMap((rows) => edges.map((cols) => workUnitsForMatmul(rows, cols, size)));
}

/** A job's price before it runs, in micro-credits. */
export interface JobEstimate {
  shards: number;
  workUnits: number;
  /** Held from the balance while the job runs; what is not spent comes back. */
  escrow: number;
  /** Expected charge (payments plus fees) at `price`, with the expected verification replicas. */
  expected: number;
  /** Of which fees. */
  expectedFees: number;
  /** The price per work unit the expectation assumes: the lowest ask, capped by the bid. */
  price: number;
}

/**
 * Estimates a job: `lowestAsk` undefined (no contributor is active, or the coordinator did not say) assumes the
 * bid. Verification replicas are expected for `verifyFraction` of the shards (each paid like the primary).
 */
export function estimateJob(units: readonly number[], bid: number, verifyFraction: number, feeRate: number, lowestAsk?: number): JobEstimate {
  const price = lowestAsk === undefined ? bid : Math.min(bid, lowestAsk);
  let amount = 0;
  let fees = 0;
  for (const u of units) {
    const s = settlementFor(u, price, feeRate);
    amount += s.amount;
    fees += s.fee;
  }
  const runs = 1 + Math.min(1, Math.max(0, verifyFraction));
  return {
    shards: units.length,
    workUnits: units.reduce((a, u) => a + u, 0),
    escrow: escrowFor({ shards: units.map((workUnits) => ({ workUnits })), bid, feeRate }),
    expected: Math.round((amount + fees) * runs),
    expectedFees: Math.round(fees * runs),
    price,
  };
}
