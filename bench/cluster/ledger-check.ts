/**
 * The books of a phase, read from its PostgreSQL database after its instances stopped: the journal replays to
 * the balances, the balances sum to what was minted, none is negative (PgLedger's own audit), and the fee
 * account holds exactly the fees of the receipts the load generator saw paid. The bench turns off every other
 * way to pay a run (long claim window and leases, no job ends but completed ones), so a run paid twice, or
 * a payment the coordinator made but did not report, shows as a fee mismatch.
 */
import { openPgLedger } from '../../coordinator/store/pg/mod.ts';

/** What the check found; `problems` is empty when the books are right. */
export interface LedgerReport {
  minted: number;
  total: number;
  accounts: number;
  fees: number;
  problems: string[];
}

/** Audits the ledger on `storeUrl`; `paidFees` is the sum of fees of receipts answered paid:true (when known). */
export async function checkLedger(storeUrl: string, paidFees?: number): Promise<LedgerReport> {
  const ledger = await openPgLedger({ url: storeUrl, starterCredits: 1000 * 1_000_000, poolSize: 2 });
  try {
    const problems = await ledger.audit();
    const s = await ledger.summary();
    if (s.total !== s.minted) problems.push(`balances sum to ${s.total} but ${s.minted} were minted`);
    const fees = s.accounts['fees'] ?? 0;
    if (paidFees !== undefined && fees !== paidFees) problems.push(`the fees account holds ${fees} but the receipts answered paid:true carried ${paidFees} in fees`);
    return { minted: s.minted, total: s.total, accounts: Object.keys(s.accounts).length, fees, problems };
  } finally {
    await ledger.close();
  }
}
