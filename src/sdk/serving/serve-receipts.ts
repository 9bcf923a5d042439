/**
 * The payer's side of serving pay: per replica lease, the requests and work units answered so far, sent as a
 * signed cumulative receipt after every RECEIPT_EVERY answers or RECEIPT_MS after the first unreceipted one,
 * whichever comes first (one receipt per lease in flight at a time; a later one carries everything). A lost or
 * refused receipt loses nothing: the next one covers it. Replicas refuse a payer whose unreceipted work passes
 * their credit window, so the handle flushes at once when one says 'unpaid'.
 */
import { WORK_UNITS_PER_ITEM } from '../../core/cost.ts';
import { signedText } from '../../protocol/coordinator.ts';
import type { ServeLease, ServeReceipt } from '../../protocol/serving.ts';
import type { SessionContext } from '../session.ts';

/** Answers per receipt, at most. */
export const RECEIPT_EVERY = 16;
/** Longest an answer waits for its receipt (ms). */
export const RECEIPT_MS = 250;
/**
 * Lease accounts kept before settled ones are dropped: a long-lived service sees replicas come and go, and an
 * account whose work is all receipted and that has nothing in flight is of no more use.
 */
export const MAX_ACCOUNTS = 64;

interface LeaseAccount {
  lease: ServeLease;
  requests: number;
  workUnits: number;
  sent: number;
  sending: Promise<void> | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Receipts of one payer for one service. */
export class ServeReceipts {
  readonly #ctx: SessionContext;
  readonly #accounts = new Map<string, LeaseAccount>();
  /** Micro-credits paid (amount + fee) and receipts refused. */
  spent = 0;
  refused = 0;

  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
  }

  /** `lease` answered a request of `items` items. */
  answered(lease: ServeLease, items: number): void {
    let a = this.#accounts.get(lease.leaseId);
    if (!a) {
      if (this.#accounts.size >= MAX_ACCOUNTS) this.#dropSettled();
      this.#accounts.set(lease.leaseId, (a = { lease, requests: 0, workUnits: 0, sent: 0, sending: undefined, timer: undefined }));
    }
    a.requests++;
    a.workUnits += items * WORK_UNITS_PER_ITEM;
    if (a.requests % RECEIPT_EVERY === 0) void this.flush(lease.leaseId);
    else a.timer ??= setTimeout(() => void this.flush(lease.leaseId), RECEIPT_MS);
  }

  /** Sends the lease's receipt now if it has unreceipted work (after the one in flight, if any). */
  async flush(leaseId: string): Promise<void> {
    const a = this.#accounts.get(leaseId);
    if (!a) return;
    clearTimeout(a.timer);
    a.timer = undefined;
    while (a.sending) await a.sending;
    if (a.workUnits <= a.sent) return;
    const receipt: ServeReceipt = { serviceId: a.lease.serviceId, leaseId, contributor: a.lease.contributor, requests: a.requests, workUnits: a.workUnits };
    a.sending = (async () => {
      try {
        const signature = await this.#ctx.identity.sign(signedText('serve-receipt', receipt));
        const paid = await this.#ctx.coordinator.request<{ amount: number; fee: number }>({ type: 'serve-receipt', receipt, signature }, { idempotent: true });
        a.sent = Math.max(a.sent, receipt.workUnits);
        this.spent += paid.amount + paid.fee;
      } catch {
        this.refused++; // the next receipt covers this one's work too
      } finally {
        a.sending = undefined;
      }
    })();
    await a.sending;
  }

  /** Accounts kept (tests). */
  get size(): number {
    return this.#accounts.size;
  }

  /** Forgets the accounts whose work is all receipted and that have no receipt pending. */
  #dropSettled(): void {
    for (const [id, a] of this.#accounts) if (a.workUnits <= a.sent && !a.sending && a.timer === undefined) this.#accounts.delete(id);
  }

  /** Sends every lease's receipt now. */
  async flushAll(): Promise<void> {
    await Promise.all([...this.#accounts.keys()].map((id) => this.flush(id)));
  }

  /** Stops the timers (the service closed). */
  dispose(): void {
    for (const a of this.#accounts.values()) clearTimeout(a.timer);
  }
}
