/** The coordinator's credit ledger: interface, Deno KV implementation and its account naming. */
export type { AuditableLedger, EscrowState, GrantRule, Ledger, LedgerEntry, LedgerSummary, LedgerTotals, Settlement, StoredReceipt } from './types.ts';
export { escrowAccount, FEES, grantAccount, MINT, peerAccount } from './accounts.ts';
export { KvLedger, type LedgerOptions, openLedger } from './kv-ledger.ts';
export { DEFAULT_RETRY, type RetryPolicy, type RetryStats } from './_retry.ts';
export { MAX_EVIDENCE_CHARS, MAX_ID_LENGTH } from './_checks.ts';
