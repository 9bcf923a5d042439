/**
 * A service's money: each payer's escrow (held when it opens or joins, refunded when it leaves or the service
 * closes) and the cumulative receipts that pay replicas from it. A receipt names the work units a replica
 * answered for this payer so far; the increase over what was paid for that lease is paid once, at the
 * lease's price, under the receipt id `service:lease:payer:workUnits` (a replayed receipt finds that id paid,
 * and a lower count pays nothing). Payments of one payer run one at a time, as they read and write one escrow.
 * Only the payer's own signed receipt moves its escrow: neither the contributor's word nor the coordinator's
 * count of requests pays anything.
 */
import { settlementFor, WORK_UNITS_PER_ITEM } from '../../src/core/cost.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { ServeLease, ServeReceipt } from '../../src/protocol/serving.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Payer, Service } from './service.ts';

/** What a receipt paid: nothing new (`paid: false`) on a replay or a count at or below what was paid. */
export interface ServePaid {
  paid: boolean;
  amount: number;
  fee: number;
  /** The contributor's balance after, when this receipt paid. */
  balance?: number;
}

/** A new payer's record, its escrow not yet held. */
export function newPayer(serviceId: string, peerId: string, owner: boolean): Payer {
  return {
    peerId,
    // The opener's escrow carries the service's id; a joiner's the service's id and its own.
    escrowId: owner ? serviceId : `${serviceId}-${peerId.slice(2, 22)}`,
    held: 0,
    spent: 0,
    fees: 0,
    refunded: 0,
    workUnits: 0,
    paid: new Map(),
    queue: Promise.resolve(),
    closed: false,
  };
}

/** Holds `amount` of the payer's credits in its escrow (throws 'insufficient-funds'). */
export async function holdEscrow(ledger: Ledger, p: Payer, amount: number): Promise<void> {
  await ledger.hold(p.escrowId, p.peerId, amount);
  p.held = amount;
}

/**
 * Pays a payer's receipt for `lease`; the caller checked the signature and that the lease is (or was) this
 * service's. Throws 'invalid-message' for a receipt that cannot be this lease's, or what the ledger throws.
 */
export function payReceipt(ledger: Ledger, feeRate: number, s: Service, p: Payer, lease: ServeLease, receipt: ServeReceipt, signature: string): Promise<ServePaid> {
  if (receipt.contributor !== lease.contributor) {
    return Promise.reject(new MeshError('invalid-message', `Cannot pay lease ${lease.leaseId} to ${receipt.contributor}: its contributor is ${lease.contributor}`));
  }
  const most = receipt.requests * s.spec.maxBatch * WORK_UNITS_PER_ITEM;
  if (receipt.workUnits > most) {
    return Promise.reject(new MeshError('invalid-message', `Cannot pay ${receipt.workUnits} work units for ${receipt.requests} requests: at most ${most} at maxBatch ${s.spec.maxBatch}`));
  }
  const run = async (): Promise<ServePaid> => {
    const before = p.paid.get(lease.leaseId) ?? 0;
    if (receipt.workUnits <= before) return { paid: false, amount: 0, fee: 0 };
    const { amount, fee } = settlementFor(receipt.workUnits - before, lease.price, feeRate);
    const { paid, contributorBalance } = await ledger.settle({
      receiptId: `${s.serviceId}:${lease.leaseId}:${p.peerId}:${receipt.workUnits}`,
      jobId: p.escrowId,
      contributor: lease.contributor,
      amount,
      fee,
      evidence: { kind: 'serve-receipt', receipt, signature },
    });
    p.paid.set(lease.leaseId, receipt.workUnits);
    if (!paid) return { paid: false, amount, fee };
    p.spent += amount;
    p.fees += fee;
    p.workUnits += receipt.workUnits - before;
    return { paid: true, amount, fee, balance: contributorBalance };
  };
  const next = p.queue.then(run, run);
  p.queue = next.catch(() => {});
  return next;
}

/** Refunds what is left of a payer's escrow once its queued payments landed. Idempotent. */
export async function refundPayer(ledger: Ledger, p: Payer): Promise<number> {
  p.closed = true;
  await p.queue;
  const amount = await ledger.refund(p.escrowId, p.peerId);
  p.refunded += amount;
  return amount;
}
