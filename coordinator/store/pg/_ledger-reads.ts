/** The PostgreSQL ledger's reads: snapshots, the journal, escrows, receipts and the audit of the books. */
import { MINT } from '../../ledger/accounts.ts';
import type { EscrowState, LedgerEntry, LedgerSummary, LedgerTotals, StoredReceipt } from '../../ledger/types.ts';
import type postgres from 'postgres';
import type { Sql, TxSql } from './connect.ts';

const MAX_LIST = 10_000;

/** Minted credits, accounts created and fees collected, from one statement (one snapshot). */
export async function readTotals(sql: Sql): Promise<LedgerTotals> {
  const [row] = await sql`SELECT
    (SELECT coalesce(sum(amount), 0) FROM movements WHERE from_account = ${MINT})::bigint AS minted,
    (SELECT count(*) FROM ledger_accounts)::bigint AS accounts,
    coalesce((SELECT balance FROM balances WHERE account = 'fees'), 0)::bigint AS fees`;
  return { minted: Number(row!.minted), accounts: Number(row!.accounts), fees: Number(row!.fees) };
}

/** Every balance and the minted total, read in one REPEATABLE READ snapshot. */
export async function readSummary(sql: Sql): Promise<LedgerSummary> {
  const [rows, minted] = await sql.begin('isolation level repeatable read read only', (tx) => [
    tx`SELECT account, balance FROM balances ORDER BY account`,
    tx`SELECT coalesce(sum(amount), 0)::bigint AS minted FROM movements WHERE from_account = ${MINT}`,
  ]);
  const accounts: Record<string, number> = {};
  let total = 0;
  for (const r of rows) {
    const amount = Number(r.balance);
    accounts[r.account as string] = amount;
    total += amount;
  }
  return { minted: Number(minted[0]!.minted), total, accounts };
}

/** Movements touching `account`, oldest first; the mint has no journal of its own (as in the KV ledger). */
export async function listEntries(sql: Sql, account: string, limit: number): Promise<LedgerEntry[]> {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) {
    throw new RangeError(`Cannot list entries as 'limit' must be an integer in 1..${MAX_LIST}: current value is ${limit}`);
  }
  if (account === MINT) return [];
  // Two index range scans instead of one OR, which PostgreSQL would answer with a bitmap scan and a sort.
  const rows = await sql`
    (SELECT id, at, kind, from_account, to_account, amount, ref FROM movements WHERE from_account = ${account} ORDER BY id LIMIT ${limit})
    UNION ALL
    (SELECT id, at, kind, from_account, to_account, amount, ref FROM movements WHERE to_account = ${account} ORDER BY id LIMIT ${limit})
    ORDER BY id LIMIT ${limit}`;
  return rows.map((r) => ({
    seq: Number(r.id),
    at: Number(r.at),
    kind: r.kind as LedgerEntry['kind'],
    from: r.from_account as string,
    to: r.to_account as string,
    amount: Number(r.amount),
    ref: r.ref as string,
  }));
}

/**
 * The query reading the escrow row of `jobId`, locked FOR UPDATE when `lock`. Queries run when first awaited,
 * so pipelined statements are passed to Promise.all as queries, never wrapped in async functions (which would
 * send them before the statements listed ahead of them).
 */
export function escrowQuery(sql: Sql | TxSql, jobId: string, lock = false): postgres.PendingQuery<postgres.Row[]> {
  return lock ? sql`SELECT * FROM escrows WHERE job_id = ${jobId} FOR UPDATE` : sql`SELECT * FROM escrows WHERE job_id = ${jobId}`;
}

/** The escrow state of a row of `escrows`, or undefined without one. */
export function toEscrow(r: postgres.Row | undefined): EscrowState | undefined {
  if (!r) return undefined;
  return {
    jobId: r.job_id,
    client: r.client,
    closed: r.closed,
    held: Number(r.held),
    paid: Number(r.paid),
    fees: Number(r.fees),
    settled: Number(r.settled),
    refunded: Number(r.refunded),
    grant: Number(r.grant_left),
  };
}

/** The query reading the stored settlement of `receiptId`. */
export function receiptQuery(sql: Sql | TxSql, receiptId: string): postgres.PendingQuery<postgres.Row[]> {
  return sql`SELECT * FROM receipts WHERE receipt_id = ${receiptId}`;
}

/** The stored settlement of a row of `receipts`, or undefined without one. */
export function toReceipt(r: postgres.Row | undefined): StoredReceipt | undefined {
  if (!r) return undefined;
  return {
    receiptId: r.receipt_id,
    jobId: r.job_id,
    contributor: r.contributor,
    amount: Number(r.amount),
    fee: Number(r.fee),
    at: Number(r.at),
    evidence: r.evidence ?? null,
  };
}

/** Replays the journal against the balances in one snapshot; returns one line per discrepancy. */
export async function auditBooks(sql: Sql): Promise<string[]> {
  const [mismatched, totals] = await sql.begin('isolation level repeatable read read only', (tx) => [
    tx`WITH flows AS (
         SELECT to_account AS account, amount FROM movements
         UNION ALL SELECT from_account, -amount FROM movements WHERE from_account <> ${MINT}
       ), replayed AS (SELECT account, sum(amount)::bigint AS balance FROM flows GROUP BY account)
       SELECT coalesce(b.account, r.account) AS account, b.balance AS stored, r.balance AS replayed
       FROM balances b FULL JOIN replayed r ON r.account = b.account
       WHERE b.balance IS DISTINCT FROM r.balance AND NOT (b.balance IS NULL AND r.balance = 0)
       ORDER BY 1 LIMIT 100`,
    tx`SELECT (SELECT coalesce(sum(balance), 0) FROM balances)::bigint AS total,
         (SELECT coalesce(sum(amount), 0) FROM movements WHERE from_account = ${MINT})::bigint AS minted,
         (SELECT count(*) FROM balances WHERE balance < 0)::bigint AS negative`,
  ]);
  const problems = mismatched.map((r) => `balance of ${r.account} is ${r.stored ?? 'absent'} but its movements sum to ${r.replayed ?? 0}`);
  const t = totals[0]!;
  if (t.total !== t.minted) problems.push(`balances sum to ${t.total} but ${t.minted} were minted`);
  if (Number(t.negative) > 0) problems.push(`${t.negative} balances are negative`);
  return problems;
}
