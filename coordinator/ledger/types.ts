/**
 * The credit ledger's interface. Amounts are integer micro-credits. Accounts: `peer:<peerId>`,
 * `escrow:<jobId>` (a job's held funds) and `fees` (protocol fee income). Every movement is a double entry;
 * the sum over all accounts changes only by minting starter credits.
 */

/** One settled shard: pays `amount` from the job's escrow to the contributor and `fee` to `fees`. */
export interface Settlement {
  /** Unique per receipt (e.g. `${jobId}:${shard}:${leaseId}`); a second settle with the same id pays nothing. */
  receiptId: string;
  jobId: string;
  contributor: string;
  amount: number;
  fee: number;
  /** The signed receipt, kept as evidence. */
  evidence?: unknown;
}

/** A ledger entry as recorded (one per movement, debit and credit sides). */
export interface LedgerEntry {
  seq: number;
  at: number;
  kind: 'mint' | 'hold' | 'settle' | 'refund';
  from: string;
  to: string;
  amount: number;
  ref: string;
}

/** Totals for audit: the invariant is `total === minted`. */
export interface LedgerSummary {
  minted: number;
  total: number;
  accounts: Record<string, number>;
}

/** The credit ledger. All methods are atomic; concurrent calls are safe. */
export interface Ledger {
  /** Creates `peer:<peerId>` with the starter credits if absent (minting them); returns its balance. */
  ensureAccount(peerId: string): Promise<{ created: boolean; balance: number }>;
  /** Balance of an account key (`peer:x`, `escrow:j`, `fees`); 0 when absent. */
  balance(account: string): Promise<number>;
  /** Moves `amount` from the client's account into `escrow:<jobId>`; throws MeshError('insufficient-funds'). */
  hold(jobId: string, client: string, amount: number): Promise<void>;
  /** Pays one settlement from escrow; idempotent by receiptId: returns paid=false on a replay. Throws
   * MeshError('insufficient-funds') if the escrow cannot cover amount + fee. */
  settle(s: Settlement): Promise<{ paid: boolean; contributorBalance: number }>;
  /** Returns what is left in `escrow:<jobId>` to the client and closes the escrow; returns the amount. Idempotent. */
  refund(jobId: string, client: string): Promise<number>;
  /** All balances and minted total. */
  summary(): Promise<LedgerSummary>;
  /** Entries touching an account, oldest first (bounded by limit). */
  entries(account: string, limit?: number): Promise<LedgerEntry[]>;
  close(): void;
}
