/**
 * The money rules every ledger engine applies, so each engine only decides how to read and commit atomically:
 * who may touch an escrow, when a receipt replay conflicts, how a hold splits into grant and earned credits
 * and how a settlement pays out the grant-funded part of an escrow. Errors thrown here describe the state.
 */
import { MeshError } from '../../src/protocol/errors.ts';
import type { EscrowState, Settlement, StoredReceipt } from './types.ts';

/** The state of an escrow nothing has been held in yet. */
export function newEscrow(jobId: string, client: string): EscrowState {
  return { jobId, client, closed: false, held: 0, paid: 0, fees: 0, settled: 0, refunded: 0, grant: 0 };
}

/** Throws MeshError('conflict') unless `client` owns the escrow and it is still open. */
export function assertEscrowFor(state: EscrowState, client: string, what: string): void {
  if (state.client !== client) throw new MeshError('conflict', `Cannot ${what} from ${client} as it belongs to client ${state.client}`);
  if (state.closed) throw new MeshError('conflict', `Cannot ${what} as its escrow is closed: current refunded amount is ${state.refunded}`);
}

/** Throws MeshError('conflict') unless the refund goes to the client that owns the escrow. */
export function assertRefundTo(state: EscrowState, jobId: string, client: string): void {
  if (state.client !== client) {
    throw new MeshError('conflict', `Cannot refund escrow of job ${jobId} to ${client} as it belongs to client ${state.client}`);
  }
}

/** Throws MeshError('conflict') when a stored receipt was paid on other terms than `s`. */
export function assertSameTerms(stored: StoredReceipt, s: Settlement): void {
  if (stored.jobId !== s.jobId || stored.contributor !== s.contributor || stored.amount !== s.amount || stored.fee !== s.fee) {
    throw new MeshError(
      'conflict',
      `Cannot settle receipt ${s.receiptId} as it was already paid on other terms: current record is ` +
        `job ${stored.jobId}, contributor ${stored.contributor}, amount ${stored.amount}, fee ${stored.fee}`,
    );
  }
}

/** Splits a hold into its grant-funded and earned parts (grants first); throws MeshError('insufficient-funds'). */
export function splitHold(jobId: string, client: string, amount: number, earned: number, grants: number): { grantPart: number; earnedPart: number } {
  if (earned + grants < amount) {
    throw new MeshError(
      'insufficient-funds',
      `Cannot hold ${amount} micro-credits for job ${jobId} as ${client} holds too little: current balance is ${earned + grants}`,
    );
  }
  const grantPart = Math.min(grants, amount);
  return { grantPart, earnedPart: amount - grantPart };
}

/** What one settlement takes from an escrow: its grant-funded payment and fee parts. */
export interface SettleSplit {
  /** Paid to the contributor's `grant:` account; the rest of the amount goes to `peer:`. */
  grantPaid: number;
  /** The part of the fee taken from grant-funded escrow. */
  grantFee: number;
}

/** Throws 'not-found' when job `s.jobId` has no escrow and 'conflict' when it is closed. */
export function assertSettleable(s: Settlement, state: EscrowState | undefined): asserts state is EscrowState {
  const what = `settle receipt ${s.receiptId}`;
  if (!state) throw new MeshError('not-found', `Cannot ${what} as job ${s.jobId} has no escrow: current balance is 0`);
  if (state.closed) throw new MeshError('conflict', `Cannot ${what} as the escrow of job ${s.jobId} is closed`);
}

/**
 * Splits settlement `s` from an escrow in `state` holding `balance`: the grant-funded part pays first and stays
 * grant credit. Throws MeshError('insufficient-funds') when the escrow cannot cover amount + fee.
 */
export function splitSettlement(s: Settlement, state: EscrowState, balance: number): SettleSplit {
  if (balance < s.amount + s.fee) {
    throw new MeshError(
      'insufficient-funds',
      `Cannot settle receipt ${s.receiptId} for ${s.amount} + fee ${s.fee} micro-credits as escrow:${s.jobId} holds too little: ` +
        `current balance is ${balance}`,
    );
  }
  const grantLeft = state.grant ?? 0;
  const grantPaid = Math.min(grantLeft, s.amount);
  return { grantPaid, grantFee: Math.min(grantLeft - grantPaid, s.fee) };
}
