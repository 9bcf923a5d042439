/**
 * Paying one accepted run: the client signs a receipt and sends it to the coordinator, retrying while the
 * coordinator answers 'conflict' (the contributor's claim may still be on its way there).
 */
import { type Receipt, signedText } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { recordReceipt } from '../storage/receipt-log.ts';
import type { CostRecord } from './job-end.ts';
import type { SessionContext } from './session.ts';

/** Retries of a receipt refused with 'conflict' (about 8 s in all). */
const RECEIPT_RETRIES = 5;

/**
 * Signs and sends `receipt`, records what it cost in `cost` and in the receipt log; gives up on any answer but
 * 'conflict', after RECEIPT_RETRIES retries, or once `over()` says the job ended.
 */
export async function sendReceipt(ctx: Pick<SessionContext, 'identity' | 'coordinator'>, receipt: Receipt, cost: CostRecord, over: () => boolean): Promise<void> {
  const signature = await ctx.identity.sign(signedText('receipt', receipt));
  for (let attempt = 0; ; attempt++) {
    try {
      const paid = await ctx.coordinator.request<{ amount?: unknown; fee?: unknown } | null>({ type: 'receipt', receipt, signature }, { idempotent: true });
      if (typeof paid?.amount === 'number' && typeof paid.fee === 'number') cost.receipt(receipt.leaseId, paid.amount, paid.fee);
      recordReceipt({ leaseId: receipt.leaseId, jobId: receipt.jobId, kind: 'paid', receipt, signature, at: Date.now() }).catch(() => {});
      return;
    } catch (err) {
      // The contributor's claim may still be on its way to the coordinator: a 'conflict' is worth a retry.
      // Anything else (the lease ended, the job is over) is final; the coordinator keeps the books.
      if (!(err instanceof MeshError) || err.code !== 'conflict' || attempt >= RECEIPT_RETRIES || over()) return;
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}
