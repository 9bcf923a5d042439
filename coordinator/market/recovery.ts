/**
 * Running jobs are in the store and resume at start (resume.ts). An escrow still open in the ledger whose
 * job is not in the store was held by a process that died between holding it and storing the job (or by a
 * version that kept jobs in memory only): nothing can finish it, so its credits go back to the client.
 */
import type { AuditableLedger, Ledger } from '../ledger/types.ts';
import type { MarketStore } from '../store/types.ts';

/**
 * Refunds every open escrow whose job is not in the store; returns how many and how much. In a cluster another
 * instance may be between holding an escrow and storing its job (milliseconds): `confirmAfterMs` makes the
 * candidates wait that long and be checked again before any refund.
 */
export async function refundOrphanedEscrows(ledger: Ledger, store?: MarketStore, confirmAfterMs = 0): Promise<{ jobs: number; amount: number }> {
  const auditable = ledger as Partial<AuditableLedger>;
  if (typeof auditable.escrow !== 'function') return { jobs: 0, amount: 0 };
  const orphans = async (ids: Iterable<string>) => {
    const out: { jobId: string; client: string }[] = [];
    for (const jobId of ids) {
      const state = await auditable.escrow!.call(ledger, jobId);
      if (!state || state.closed) continue;
      if (store && await store.hasJob(jobId)) continue;
      out.push({ jobId, client: state.client });
    }
    return out;
  };
  const { accounts } = await ledger.summary();
  const open = Object.entries(accounts).filter(([a, balance]) => a.startsWith('escrow:') && balance > 0).map(([a]) => a.slice('escrow:'.length));
  let found = await orphans(open);
  if (confirmAfterMs > 0 && found.length > 0) {
    await new Promise((r) => setTimeout(r, confirmAfterMs));
    found = await orphans(found.map((f) => f.jobId));
  }
  let amount = 0;
  for (const { jobId, client } of found) amount += await ledger.refund(jobId, client);
  return { jobs: found.length, amount };
}
