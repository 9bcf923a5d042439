/**
 * Money out of a job's escrow: paying a run and refunding what is left. Each payment is one ledger settle
 * keyed by `jobId:shard:leaseId`, so however often it is attempted (a receipt, agreement, the claim window,
 * the job's end, a retry after a failed write) it pays once. The evidence stored with it says why it was
 * paid: the contributor's signed claim, plus the client's signed receipt or the rule that paid it.
 *
 * A ledger write that fails (a conflict storm, a full disk) is retried with backoff; a refund that keeps
 * failing is retried later by the market's sweep, so escrow is never left open until a restart.
 */
import type { Receipt } from '../../src/protocol/coordinator.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Job, Run } from './job.ts';

/** Why a run is paid. */
export type PayBasis = 'receipt' | 'agreement' | 'claim-window' | 'job-end';

/** Attempts of one ledger write before it is left to the sweep. */
const ATTEMPTS = 4;

/** Evidence kept with a payment. */
export interface PayEvidence {
  basis: PayBasis;
  claim: { outputHash: string; signature: string };
  receipt?: { receipt: Receipt; signature: string };
}

/** The receipt id of a run: unique per lease, so a payment happens once. */
export function receiptId(job: Job, shard: number, run: Run): string {
  return `${job.jobId}:${shard}:${run.lease.leaseId}`;
}

/** Writes the payment of a claimed run; resolves with whether this call paid it and the new balance. */
export async function payRun(ledger: Ledger, job: Job, shard: number, run: Run, basis: PayBasis): Promise<{ paid: boolean; amount: number; fee: number; balance: number }> {
  const { amount, fee } = job.runCost(shard, run.lease);
  const evidence: PayEvidence = { basis, claim: { outputHash: run.claim!.outputHash, signature: run.claim!.signature } };
  if (run.receipt) evidence.receipt = run.receipt;
  const { paid, contributorBalance } = await retry(() =>
    ledger.settle({ receiptId: receiptId(job, shard, run), jobId: job.jobId, contributor: run.lease.contributor, amount, fee, evidence })
  );
  return { paid, amount, fee, balance: contributorBalance };
}

/** Refunds what is left of a job's escrow to its client; resolves with the amount. */
export function refundJob(ledger: Ledger, job: Job): Promise<number> {
  return retry(() => ledger.refund(job.jobId, job.client));
}

async function retry<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      // Argument errors are bugs, and insufficient funds cannot heal by waiting: give up at once.
      const code = (err as { code?: string }).code;
      if (attempt >= ATTEMPTS || err instanceof TypeError || err instanceof RangeError || code === 'insufficient-funds' || code === 'not-found') throw err;
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}
