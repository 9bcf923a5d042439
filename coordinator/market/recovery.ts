/**
 * Running jobs are in the store and resume at start (resume.ts). An escrow still open in the ledger whose
 * job is not in the store was held by a process that died between holding it and storing the job (or by a
 * version that kept jobs in memory only): nothing can finish it, so its credits go back to the client.
 */
import type { AuditableLedger, Ledger } from '../ledger/types.ts';
import type { MarketStore } from '../store/types.ts';

/** Refunds every open escrow whose job is not in the store; returns how many and how much. */
export async function refundOrphanedEscrows(ledger: Ledger, store?: MarketStore): Promise<{ jobs: number; amount: number }> {
  const auditable = ledger as Partial<AuditableLedger>;
  if (typeof auditable.escrow !== 'function') return { jobs: 0, amount: 0 };
  const { accounts } = await ledger.summary();
  let jobs = 0;
  let amount = 0;
  for (const [account, balance] of Object.entries(accounts)) {
    if (!account.startsWith('escrow:') || balance <= 0) continue;
    const jobId = account.slice('escrow:'.length);
    const state = await auditable.escrow.call(ledger, jobId);
    if (!state || state.closed) continue;
    if (store && await store.hasJob(jobId)) continue;
    amount += await ledger.refund(jobId, state.client);
    jobs++;
  }
  return { jobs, amount };
}
