/**
 * Jobs live in memory, escrow lives in the ledger file. If a previous process died without cancelling its
 * jobs (kill -9, power loss), their escrows still hold clients' credits; on start they go back to the clients.
 */
import type { AuditableLedger, Ledger } from '../ledger/types.ts';

/** Refunds every escrow with a balance left by an earlier process; returns how many and how much. */
export async function refundOrphanedEscrows(ledger: Ledger): Promise<{ jobs: number; amount: number }> {
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
    amount += await ledger.refund(jobId, state.client);
    jobs++;
  }
  return { jobs, amount };
}
