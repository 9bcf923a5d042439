/**
 * How a job's handle settles when the job ends without its result, and what the client knows of its cost.
 *
 * The coordinator's final status decides when there is one: `result` rejects with the status's reason (a failed
 * job says why) or a sentence naming the end, and `cost` takes the status's figures. When the coordinator no
 * longer knows the job (it restarted without its state, or the job ended too long ago) or the session closed
 * before the end was known, the cost is this client's own record instead: what it knows was paid (its receipts'
 * answers, and the latest status the coordinator sent), with the rest of the escrow marked unknown, since only
 * the coordinator can say whether it was refunded, and one that lost its state may have lost its ledger too.
 */
import type { JobStatus } from '../protocol/index.ts';
import { MeshError } from '../protocol/index.ts';
import type { JobCost } from './types.ts';

/** How far a job got: its shards settled here out of its total. */
export interface Settled {
  done: number;
  total: number;
}

/** The error `result` rejects with for a job that ended (`status`) before all its outputs were here. */
export function endError(status: JobStatus, settled: Settled, cancelRequested: boolean): MeshError {
  if (status.reason) return new MeshError(status.reason.code, status.reason.message);
  const { jobId } = status;
  const got = `${settled.done} of ${settled.total} shards settled`;
  switch (status.state) {
    case 'cancelled':
      return new MeshError('cancelled', cancelRequested
        ? `Cannot finish job ${jobId} as it was cancelled`
        : `Cannot finish job ${jobId} as the coordinator cancelled it (its client was away past the grace, or it shut down): ${got}`);
    case 'expired':
      return new MeshError('lease-expired', `Cannot finish job ${jobId} as its deadline passed: ${got}`);
    case 'failed':
      return new MeshError('internal', `Cannot finish job ${jobId} as the coordinator failed it without a reason: ${got}`);
    default:
      return new MeshError('transfer-failed', `Cannot finish job ${jobId} as it ended '${status.state}' before the outputs of ${settled.total - settled.done} shards arrived: ${got}`);
  }
}

/** The error `result` rejects with when the coordinator no longer knows job `jobId`. */
export function lostError(jobId: string, settled: Settled): MeshError {
  return new MeshError('not-found', `Cannot finish job ${jobId} as the coordinator no longer knows it (it restarted without its state, or the job ended long ago): ${settled.done} of ${settled.total} shards settled; its cost is this client's own record`);
}

/** What the client knows of a job's cost as it runs. */
export class CostRecord {
  #escrow = 0;
  /** The latest status the coordinator sent (running or final). */
  #status: Pick<JobStatus, 'spent' | 'fees' | 'refunded'> = { spent: 0, fees: 0, refunded: 0 };
  /** Answers to this client's receipts, by lease id (a receipt sent twice counts once). */
  readonly #receipts = new Map<string, { amount: number; fee: number }>();

  /** The escrow the coordinator held at submission. */
  held(escrow: number): void {
    this.#escrow = escrow;
  }

  /** A status from the coordinator (a push, a poll, the submit answer). */
  status(status: JobStatus): void {
    this.#status = { spent: status.spent, fees: status.fees, refunded: status.refunded };
    if (this.#escrow === 0) this.#escrow = status.escrow;
  }

  /** The coordinator's answer to a receipt for lease `leaseId`: the run was paid `amount` plus `fee`. */
  receipt(leaseId: string, amount: number, fee: number): void {
    this.#receipts.set(leaseId, { amount, fee });
  }

  /** The cost by the coordinator's final status. */
  final(status: JobStatus): JobCost {
    return { spent: status.spent, fees: status.fees, refunded: status.refunded, escrow: status.escrow, unknown: 0, source: 'coordinator' };
  }

  /**
   * The cost by this client's own record: spent and fees at least what its receipts and the latest status say
   * (each a lower bound: runs are also paid without a receipt), the rest of the escrow unknown.
   */
  own(): JobCost {
    let amount = 0;
    let fee = 0;
    for (const r of this.#receipts.values()) {
      amount += r.amount;
      fee += r.fee;
    }
    const spent = Math.max(amount, this.#status.spent);
    const fees = Math.max(fee, this.#status.fees);
    const refunded = this.#status.refunded;
    const unknown = Math.max(0, this.#escrow - spent - fees - refunded);
    return { spent, fees, refunded, escrow: this.#escrow, unknown, source: 'client' };
  }
}
