/**
 * The credit ledger on PostgreSQL, for coordinators that share one database. Same accounts, rules, errors and
 * results as the Deno KV ledger (coordinator/ledger/kv-ledger.ts); the money rules themselves live in
 * ledger/_rules.ts and only the storage differs. The schema (ledger-schema.ts) makes broken books impossible
 * at the database: balances move only through journalled movements and never go negative.
 *
 * Every operation is one READ COMMITTED transaction. What it reads and then writes is locked first: the escrow
 * row (`SELECT ... FOR UPDATE`) serializes holds, settles and refunds of one job across instances, and a hold
 * locks the client's balances before deciding, so concurrent holds never spend the same credits twice. Credits
 * are applied at COMMIT by a deferred trigger, so hot credited rows (fees) are locked only while a commit runs;
 * deadlocks and unique-key races (a receipt paid by another instance) are retried (_tx.ts). Statements that do
 * not depend on each other are pipelined: a settle is four round trips including BEGIN and COMMIT.
 */
import { checkAmount, checkId, checkPeerId, encodeEvidence } from '../../ledger/_checks.ts';
import { assertEscrowFor, assertRefundTo, assertSameTerms, assertSettleable, splitHold, splitSettlement } from '../../ledger/_rules.ts';
import { escrowAccount, FEES, grantAccount, MINT, peerAccount } from '../../ledger/accounts.ts';
import { DEFAULT_RETRY, type RetryPolicy, type RetryStats } from '../../ledger/mod.ts';
import type { AuditableLedger, EscrowState, GrantRule, LedgerEntry, LedgerSummary, LedgerTotals, LinkResult, Settlement, StoredReceipt } from '../../ledger/types.ts';
import { MeshError } from '../../../src/protocol/errors.ts';
import type postgres from 'postgres';
import { connectPg, type Sql, type TxSql } from './connect.ts';
import { auditBooks, escrowQuery, listEntries, readSummary, readTotals, receiptQuery, toEscrow, toReceipt } from './_ledger-reads.ts';
import { LEDGER_COMPONENT, LEDGER_MIGRATIONS } from './ledger-schema.ts';
import { migrate } from './migrate.ts';
import { transact } from './_tx.ts';

/** Options of `openPgLedger`. */
export interface PgLedgerOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Micro-credits minted into each new peer account (as a grant). */
  starterCredits: number;
  /** Connections in this instance's pool (default 10). */
  poolSize?: number;
  /** Retry policy for deadlocks and unique-key races (tests shorten it). */
  retry?: RetryPolicy;
}

/** One movement to journal; zero amounts are dropped. */
interface Move {
  from: string;
  to: string;
  amount: number;
}

/** Connects, applies the ledger's migrations and returns the ledger; several instances may share a database. */
export async function openPgLedger(opts: PgLedgerOptions): Promise<PgLedger> {
  checkAmount('open the ledger', 'starterCredits', opts.starterCredits);
  const sql = connectPg(opts.url, { applicationName: 'meshwork-ledger', ...(opts.poolSize === undefined ? {} : { max: opts.poolSize }) });
  try {
    await migrate(sql, LEDGER_COMPONENT, LEDGER_MIGRATIONS);
  } catch (err) {
    await sql.end({ timeout: 1 });
    throw err;
  }
  return new PgLedger(sql, opts.starterCredits, opts.retry ?? DEFAULT_RETRY);
}

/** The PostgreSQL ledger; obtain one with `openPgLedger`. */
export class PgLedger implements AuditableLedger {
  readonly #sql: Sql;
  readonly #starter: number;
  readonly #retry: RetryPolicy;
  readonly #stats: RetryStats = { commits: 0, conflicts: 0 };
  #counterDay = '';

  /** Wraps a migrated pool; prefer `openPgLedger`. */
  constructor(sql: Sql, starterCredits: number, retry: RetryPolicy = DEFAULT_RETRY) {
    this.#sql = sql;
    this.#starter = starterCredits;
    this.#retry = retry;
  }

  /** Transactions committed and retried since this instance was opened (for /metrics). */
  stats(): Readonly<RetryStats> {
    return { ...this.#stats };
  }

  /**
   * Creates the account of `peerId` if absent, granting the starter credits (into `grant:<peerId>`) when its
   * network still has a grant left today; returns its spendable balance and whether it got a grant.
   */
  ensureAccount(peerId: string, rule: GrantRule = { network: 'any', perDay: Infinity }): Promise<{ created: boolean; balance: number; granted: boolean }> {
    checkPeerId('create an account', 'peerId', peerId);
    checkId('create an account', 'network', rule.network);
    const day = new Date().toISOString().slice(0, 10);
    const counted = Number.isFinite(rule.perDay);
    return this.#tx('create an account', async (tx) => {
      const now = Date.now();
      // A concurrent creator's uncommitted row blocks this insert until it commits; then nothing is inserted.
      const made = await tx`INSERT INTO ledger_accounts (peer_id, created_at, starter, network)
        VALUES (${peerId}, ${now}, 0, ${rule.network}) ON CONFLICT DO NOTHING RETURNING peer_id`;
      if (made.length === 0) return { created: false, balance: await spendableIn(tx, peerId), granted: false };
      let granted = this.#starter > 0 && rule.perDay > 0;
      if (granted && counted) {
        if (this.#counterDay !== day) {
          this.#counterDay = day;
          await tx`DELETE FROM grant_counters WHERE day < ${day}::date - 2`;
        }
        const limit = Math.ceil(rule.perDay);
        const counter = await tx`INSERT INTO grant_counters AS g (network, day, count) VALUES (${rule.network}, ${day}, 1)
          ON CONFLICT (network, day) DO UPDATE SET count = g.count + 1 WHERE g.count < ${limit} RETURNING count`;
        granted = counter.length > 0;
      }
      if (granted) {
        await Promise.all([
          tx`UPDATE ledger_accounts SET starter = ${this.#starter} WHERE peer_id = ${peerId}`,
          journal(tx, now, 'mint', peerId, [{ from: MINT, to: grantAccount(peerId), amount: this.#starter }]),
        ]);
      }
      // Credits apply at commit (ledger-schema.ts), so this read does not include the grant just minted.
      return { created: true, balance: (await spendableIn(tx, peerId)) + (granted ? this.#starter : 0), granted };
    });
  }

  /** Whether the peer has an account. */
  async exists(peerId: string): Promise<boolean> {
    checkPeerId('look up an account', 'peerId', peerId);
    return (await this.#sql`SELECT 1 FROM ledger_accounts WHERE peer_id = ${peerId}`).length > 0;
  }

  /** What a peer can hold as escrow: its earned credits plus its grant credits. */
  spendable(peerId: string): Promise<number> {
    checkPeerId('read a balance', 'peerId', peerId);
    return spendableIn(this.#sql, peerId);
  }

  /** Public totals: minted credits, accounts created, fees collected (no per-account data). */
  totals(): Promise<LedgerTotals> {
    return readTotals(this.#sql);
  }

  /** Balance of an account key (`peer:x`, `grant:x`, `escrow:j`, `fees`); 0 when absent. */
  async balance(account: string): Promise<number> {
    checkId('read a balance', 'account', account);
    const [row] = await this.#sql`SELECT balance FROM balances WHERE account = ${account}`;
    return row ? Number(row.balance) : 0;
  }

  /**
   * Moves `amount` from the client's grant and earned credits (grants first) into `escrow:<jobId>`; throws
   * MeshError('insufficient-funds') when both together hold too little.
   */
  hold(jobId: string, client: string, amount: number): Promise<void> {
    checkId('hold escrow', 'jobId', jobId);
    checkPeerId('hold escrow', 'client', client);
    checkAmount('hold escrow', 'amount', amount);
    const peer = peerAccount(client);
    const grant = grantAccount(client);
    const escrow = escrowAccount(jobId);
    return this.#tx(`hold escrow for job ${jobId}`, async (tx) => {
      const [, [row], rows] = await Promise.all([
        tx`INSERT INTO escrows (job_id, client) VALUES (${jobId}, ${client}) ON CONFLICT DO NOTHING`,
        escrowQuery(tx, jobId, true),
        tx`SELECT account, balance FROM balances WHERE account IN (${peer}, ${grant}) ORDER BY account DESC FOR UPDATE`,
      ]);
      assertEscrowFor(toEscrow(row)!, client, `hold escrow for job ${jobId}`);
      const of = (account: string): number => Number(rows.find((r) => r.account === account)?.balance ?? 0);
      const { grantPart, earnedPart } = splitHold(jobId, client, amount, of(peer), of(grant));
      await Promise.all([
        tx`UPDATE escrows SET held = held + ${amount}, grant_left = grant_left + ${grantPart} WHERE job_id = ${jobId}`,
        journal(tx, Date.now(), 'hold', jobId, [{ from: grant, to: escrow, amount: grantPart }, { from: peer, to: escrow, amount: earnedPart }]),
      ]);
    });
  }

  /**
   * Pays one settlement from escrow; idempotent by receiptId: returns paid=false on a replay. Throws
   * MeshError('insufficient-funds') if the escrow cannot cover amount + fee, 'not-found' without an escrow,
   * 'conflict' when the escrow is closed or a receipt id is reused with different terms.
   */
  async settle(s: Settlement): Promise<{ paid: boolean; contributorBalance: number }> {
    checkId('settle', 'receiptId', s.receiptId);
    checkId('settle', 'jobId', s.jobId);
    checkPeerId('settle', 'contributor', s.contributor);
    checkAmount('settle', 'amount', s.amount);
    checkAmount('settle', 'fee', s.fee);
    checkAmount('settle', 'amount + fee', s.amount + s.fee);
    const evidence = encodeEvidence(s.evidence);
    const escrow = escrowAccount(s.jobId);
    return await this.#tx(`settle receipt ${s.receiptId}`, async (tx) => {
      // Statements run in order: the receipt and balance reads see whatever committed before the lock was granted.
      const [[row], [rec], rows, [earned]] = await Promise.all([
        escrowQuery(tx, s.jobId, true),
        receiptQuery(tx, s.receiptId),
        tx`SELECT balance FROM balances WHERE account = ${escrow}`,
        spendableQuery(tx, s.contributor),
      ]);
      const before = Number(earned!.total);
      const stored = toReceipt(rec);
      if (stored) {
        assertSameTerms(stored, s);
        return { paid: false, contributorBalance: before };
      }
      const state = toEscrow(row);
      assertSettleable(s, state);
      const { grantPaid, grantFee } = splitSettlement(s, state, Number(rows[0]?.balance ?? 0));
      const at = Date.now();
      // A receipt inserted meanwhile by a settle of another job aborts this one (unique_violation): the retry reads it.
      await Promise.all([
        tx`INSERT INTO receipts (receipt_id, job_id, contributor, amount, fee, at, evidence)
          VALUES (${s.receiptId}, ${s.jobId}, ${s.contributor}, ${s.amount}, ${s.fee}, ${at}, ${evidence})`,
        tx`UPDATE escrows SET paid = paid + ${s.amount}, fees = fees + ${s.fee}, settled = settled + 1,
          grant_left = grant_left - ${grantPaid + grantFee} WHERE job_id = ${s.jobId}`,
        journal(tx, at, 'settle', s.receiptId, [
          { from: escrow, to: peerAccount(s.contributor), amount: s.amount - grantPaid },
          { from: escrow, to: grantAccount(s.contributor), amount: grantPaid },
          { from: escrow, to: FEES, amount: s.fee },
        ]),
      ]);
      // Credits apply at commit, so the balance read above lacks this payment: add it.
      return { paid: true, contributorBalance: before + s.amount };
    });
  }

  /**
   * Returns what is left in `escrow:<jobId>` to the client (its grant-funded part as grant credits) and closes
   * the escrow; returns the amount. Idempotent.
   */
  refund(jobId: string, client: string): Promise<number> {
    checkId('refund escrow', 'jobId', jobId);
    checkPeerId('refund escrow', 'client', client);
    const escrow = escrowAccount(jobId);
    return this.#tx(`refund escrow of job ${jobId}`, async (tx) => {
      // Refunding a job that never held anything still closes it, so a hold racing a cancel cannot reopen it.
      const [, [row], rows] = await Promise.all([
        tx`INSERT INTO escrows (job_id, client) VALUES (${jobId}, ${client}) ON CONFLICT DO NOTHING`,
        escrowQuery(tx, jobId, true),
        tx`SELECT balance FROM balances WHERE account = ${escrow}`,
      ]);
      const state = toEscrow(row)!;
      assertRefundTo(state, jobId, client);
      if (state.closed) return 0;
      const amount = Number(rows[0]?.balance ?? 0);
      const grantPart = Math.min(amount, state.grant ?? 0);
      await Promise.all([
        tx`UPDATE escrows SET closed = true, refunded = refunded + ${amount}, grant_left = 0 WHERE job_id = ${jobId}`,
        journal(tx, Date.now(), 'refund', jobId, [
          { from: escrow, to: peerAccount(client), amount: amount - grantPart },
          { from: escrow, to: grantAccount(client), amount: grantPart },
        ]),
        // Like KV's delete of the key: a closed escrow leaves no empty account behind in summary().
        tx`DELETE FROM balances WHERE account = ${escrow} AND balance = 0`,
      ]);
      return amount;
    });
  }

  /**
   * Moves all of `from`'s earned and grant credits to `to` (each staying what it is), once per `ref`; a replay
   * returns the first call's amounts with `moved: false`. The balances are locked before they are read.
   */
  link(ref: string, from: string, to: string): Promise<LinkResult> {
    checkId('link credits', 'ref', ref);
    checkPeerId('link credits', 'from', from);
    checkPeerId('link credits', 'to', to);
    if (from === to) throw new MeshError('invalid-message', `Cannot link credits of ${from} to itself`);
    const [fromPeer, fromGrant] = [peerAccount(from), grantAccount(from)];
    return this.#tx(`link credits of ${from} to ${to}`, async (tx) => {
      const [done] = await tx`SELECT earned, grant_amount FROM credit_links WHERE ref = ${ref}`;
      if (done) return { moved: false, earned: Number(done.earned), grant: Number(done.grant_amount) };
      const rows = await tx`SELECT account, balance FROM balances WHERE account IN (${fromPeer}, ${fromGrant}) FOR UPDATE`;
      const of = (account: string) => Number(rows.find((r) => r.account === account)?.balance ?? 0);
      const earned = of(fromPeer);
      const grant = of(fromGrant);
      // A concurrent link of the same ref fails here on the primary key and is retried as a replay.
      await tx`INSERT INTO credit_links (ref, from_peer, to_peer, earned, grant_amount, at) VALUES (${ref}, ${from}, ${to}, ${earned}, ${grant}, ${Date.now()})`;
      await journal(tx, Date.now(), 'link', ref, [
        { from: fromPeer, to: peerAccount(to), amount: earned },
        { from: fromGrant, to: grantAccount(to), amount: grant },
      ]);
      return { moved: true, earned, grant };
    });
  }

  /** All balances and the minted total, read in one snapshot. */
  summary(): Promise<LedgerSummary> {
    return readSummary(this.#sql);
  }

  /** Entries touching an account, oldest first (bounded by limit, default 100, at most 10000). */
  entries(account: string, limit = 100): Promise<LedgerEntry[]> {
    checkId('list entries', 'account', account);
    return listEntries(this.#sql, account, limit);
  }

  /** The escrow of a job, or undefined when none was ever held or refunded. */
  async escrow(jobId: string): Promise<EscrowState | undefined> {
    checkId('read escrow', 'jobId', jobId);
    return toEscrow((await escrowQuery(this.#sql, jobId))[0]);
  }

  /** The stored settlement for a receipt id, or undefined when it was never paid. */
  async receipt(receiptId: string): Promise<StoredReceipt | undefined> {
    checkId('read a receipt', 'receiptId', receiptId);
    return toReceipt((await receiptQuery(this.#sql, receiptId))[0]);
  }

  /**
   * Checks the books from the journal: every balance equals the sum of its movements, none is negative and
   * their total equals the minted credits. Returns the discrepancies found (none when sound).
   */
  audit(): Promise<string[]> {
    return auditBooks(this.#sql);
  }

  /** Closes the pool, letting running queries finish (at most 5 s). */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }

  #tx<T>(what: string, body: (tx: TxSql) => Promise<T>): Promise<T> {
    return transact(this.#sql, what, body, this.#stats, this.#retry);
  }
}

/** The query reading a peer's earned plus grant credits as `total` (lazy: safe to pipeline). */
function spendableQuery(sql: Sql | TxSql, peerId: string): postgres.PendingQuery<postgres.Row[]> {
  return sql`SELECT coalesce(sum(balance), 0)::bigint AS total FROM balances WHERE account IN (${peerAccount(peerId)}, ${grantAccount(peerId)})`;
}

async function spendableIn(sql: Sql | TxSql, peerId: string): Promise<number> {
  return Number((await spendableQuery(sql, peerId))[0]!.total);
}

/** Inserts the non-zero movements in the order given (the trigger applies them to the balances). */
function journal(tx: TxSql, at: number, kind: LedgerEntry['kind'], ref: string, moves: Move[]): Promise<unknown> {
  const rows = moves.filter((m) => m.amount > 0).map((m) => ({ at, kind, ref, from_account: m.from, to_account: m.to, amount: m.amount }));
  if (rows.length === 0) return Promise.resolve();
  return tx`INSERT INTO movements ${tx(rows, 'at', 'kind', 'ref', 'from_account', 'to_account', 'amount')}`;
}
