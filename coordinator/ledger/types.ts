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
  kind: 'mint' | 'hold' | 'settle' | 'refund' | 'link';
  from: string;
  to: string;
  amount: number;
  ref: string;
}

/** What `link` moved. */
export interface LinkResult {
  /** False on a replay of a ref already used (the amounts are those of the first call). */
  moved: boolean;
  earned: number;
  grant: number;
}

/** Totals for audit: the invariant is `total === minted`. */
export interface LedgerSummary {
  minted: number;
  total: number;
  accounts: Record<string, number>;
}

/** Public ledger totals (no per-account data). */
export interface LedgerTotals {
  minted: number;
  accounts: number;
  fees: number;
}

/** Grant limits applied when an account is created. */
export interface GrantRule {
  /** Network key of the creating address. */
  network: string;
  /** Grants per network per UTC day; Infinity for no limit. */
  perDay: number;
}

/** The credit ledger. All methods are atomic; concurrent calls are safe. */
export interface Ledger {
  /**
   * Creates the peer's account if absent, with the starter credits as a grant when its network has one left
   * today; returns the spendable balance (earned + grant) and whether a grant was minted.
   */
  ensureAccount(peerId: string, rule?: GrantRule): Promise<{ created: boolean; balance: number; granted: boolean }>;
  /** Whether the peer has an account. */
  exists(peerId: string): Promise<boolean>;
  /** Balance of an account key (`peer:x`, `grant:x`, `escrow:j`, `fees`); 0 when absent. */
  balance(account: string): Promise<number>;
  /** Earned plus grant credits of a peer: what it can hold as escrow. */
  spendable(peerId: string): Promise<number>;
  /** Public totals. */
  totals(): Promise<LedgerTotals>;
  /** Moves `amount` from the client's grant and earned credits (grants first) into `escrow:<jobId>`;
   * throws MeshError('insufficient-funds'). */
  hold(jobId: string, client: string, amount: number): Promise<void>;
  /** Pays one settlement from escrow; idempotent by receiptId: returns paid=false on a replay. Throws
   * MeshError('insufficient-funds') if the escrow cannot cover amount + fee. */
  settle(s: Settlement): Promise<{ paid: boolean; contributorBalance: number }>;
  /** Returns what is left in `escrow:<jobId>` to the client and closes the escrow; returns the amount. Idempotent. */
  refund(jobId: string, client: string): Promise<number>;
  /**
   * Moves everything `from` holds to `to`, earned credits to earned and grant credits to grant (a grant stays a
   * grant), once per `ref`: a replay moves nothing and returns what the first call moved with `moved: false`.
   * The caller checks that `from` signed this (coordinator/mesh/credit-link.ts).
   */
  link(ref: string, from: string, to: string): Promise<LinkResult>;
  /** All balances and minted total. */
  summary(): Promise<LedgerSummary>;
  /** Entries touching an account, oldest first (bounded by limit). */
  entries(account: string, limit?: number): Promise<LedgerEntry[]>;
  close(): void;
}

/** A job's escrow as the ledger tracks it (an addition to the lead's interface, read-only). */
export interface EscrowState {
  jobId: string;
  /** Peer id of the client whose funds are held. */
  client: string;
  /** Closed by `refund`: no further holds or settlements. */
  closed: boolean;
  /** Total moved in by `hold`. */
  held: number;
  /** Total paid to contributors. */
  paid: number;
  /** Total fees charged. */
  fees: number;
  /** Settlements paid. */
  settled: number;
  /** Returned to the client by `refund`. */
  refunded: number;
  /** Grant-funded micro-credits still in the escrow (absent in escrows written before grants existed). */
  grant?: number;
}

/** A settlement as recorded under its receipt id, with its evidence as JSON text. */
export interface StoredReceipt {
  receiptId: string;
  jobId: string;
  contributor: string;
  amount: number;
  fee: number;
  at: number;
  /** `JSON.stringify(evidence)`, or null when none was given. */
  evidence: string | null;
}

/** A ledger that can also show escrows and stored receipts (audit, job status, disputes). */
export interface AuditableLedger extends Ledger {
  /** The escrow of a job, or undefined when none was ever held or refunded. */
  escrow(jobId: string): Promise<EscrowState | undefined>;
  /** The stored settlement for a receipt id, or undefined when it was never paid. */
  receipt(receiptId: string): Promise<StoredReceipt | undefined>;
}
