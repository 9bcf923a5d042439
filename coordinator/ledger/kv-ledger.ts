/**
 * The credit ledger on Deno KV. Balances are `Deno.KvU64` micro-credits under `['balance', account]`.
 * Every operation is one `kv.atomic()`: debits are read, checked (`.check()` on the versionstamp read) and
 * set; credits are `.sum()`s, which commute and so never make concurrent payers conflict on a hot account such
 * as `fees`. A conflicting commit is retried (see _retry.ts).
 *
 * Each movement is journalled under `['entry', commitVersionstamp]` with an index per touched account under
 * `['entries-by', account, commitVersionstamp]`; KV's commit versionstamp orders commits, so the journal has a
 * monotonic sequence without a global counter every writer would fight over.
 *
 * Starter credits are grants: minted into `grant:<peer>`, at most `perDay` per network and UTC day (a counter
 * checked in the same commit as the mint), and spendable only as escrow. A hold draws grant credits first; the
 * escrow remembers how much of it came from grants, and that part stays grant credit wherever it goes: paid
 * to a contributor's `grant:` account, refunded to the client's. So throwaway identities cannot launder grants
 * into earned credit by paying a collector, and the number of grants is bounded by networks, not keys.
 */
import { MeshError } from '../../src/protocol/errors.ts';
import { checkAmount, checkId, checkPeerId, encodeEvidence } from './_checks.ts';
import { assertEscrowFor, assertRefundTo, assertSameTerms, assertSettleable, newEscrow, splitHold, splitSettlement } from './_rules.ts';
import { escrowAccount, FEES, grantAccount, MINT, peerAccount } from './accounts.ts';
import { credit, type EntryRecord, K, type Move, seqOf, toNumber, u64 } from './_kv-layout.ts';
import { type Attempt, commitWithRetry, DEFAULT_RETRY, type RetryPolicy, type RetryStats } from './_retry.ts';
import type { AuditableLedger, EscrowState, GrantRule, LedgerEntry, LedgerSummary, LedgerTotals, LinkResult, Settlement, StoredReceipt } from './types.ts';

/** Options of `openLedger`. */
export interface LedgerOptions {
  /** A file path (its parent directory is created) or ':memory:'. */
  path: string;
  /** Micro-credits minted into each new peer account. */
  starterCredits: number;
  /** Conflict retry policy (tests shorten it). */
  retry?: RetryPolicy;
}

export { escrowAccount, FEES, grantAccount, MINT, peerAccount };
const MAX_LIST = 10_000;

/** Grant counters expire after two days (they count one UTC day). */
const GRANT_COUNTER_TTL_MS = 2 * 24 * 3600 * 1000;

/** Opens (or creates) a ledger stored in Deno KV. */
export async function openLedger(opts: LedgerOptions): Promise<KvLedger> {
  checkAmount('open the ledger', 'starterCredits', opts.starterCredits);
  if (opts.path !== ':memory:') {
    const slash = Math.max(opts.path.lastIndexOf('/'), opts.path.lastIndexOf('\\'));
    if (slash > 0) await Deno.mkdir(opts.path.slice(0, slash), { recursive: true });
  }
  return new KvLedger(await Deno.openKv(opts.path), opts.starterCredits, opts.retry ?? DEFAULT_RETRY);
}

/** The Deno KV ledger; obtain one with `openLedger`. */
export class KvLedger implements AuditableLedger {
  readonly #kv: Deno.Kv;
  readonly #starter: number;
  readonly #retry: RetryPolicy;
  readonly #stats: RetryStats = { commits: 0, conflicts: 0 };

  /** Wraps an open KV handle; prefer `openLedger`. */
  constructor(kv: Deno.Kv, starterCredits: number, retry: RetryPolicy = DEFAULT_RETRY) {
    this.#kv = kv;
    this.#starter = starterCredits;
    this.#retry = retry;
  }

  /** Commits and conflict retries since this ledger was opened (for /metrics). */
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
    const peer = peerAccount(peerId);
    const grant = grantAccount(peerId);
    const counted = Number.isFinite(rule.perDay);
    const day = new Date().toISOString().slice(0, 10);
    return this.#run<{ created: boolean; balance: number; granted: boolean }>('create an account', async () => {
      const [marker, bal, gbal, counter] = await this.#kv.getMany<[unknown, Deno.KvU64, Deno.KvU64, number]>([
        K.account(peerId),
        K.balance(peer),
        K.balance(grant),
        K.grants(rule.network, day),
      ]);
      const spendable = toNumber(bal) + toNumber(gbal);
      if (marker.versionstamp !== null) return { result: { created: false, balance: spendable, granted: false } };
      const used = counted ? (counter.value ?? 0) : 0;
      const granted = this.#starter > 0 && used < rule.perDay;
      const op = this.#begin()
        .check(marker)
        .set(K.account(peerId), { createdAt: Date.now(), starter: granted ? this.#starter : 0, network: rule.network })
        .sum(K.accounts, 1n);
      if (granted) {
        op.sum(K.balance(grant), BigInt(this.#starter)).sum(K.minted, BigInt(this.#starter));
        if (counted) op.check(counter).set(K.grants(rule.network, day), used + 1, { expireIn: GRANT_COUNTER_TTL_MS });
        this.#journal(op, 'mint', peerId, [{ from: MINT, to: grant, amount: this.#starter }]);
      }
      return { op, result: { created: true, balance: spendable + (granted ? this.#starter : 0), granted } };
    });
  }

  /** Whether the peer has an account. */
  async exists(peerId: string): Promise<boolean> {
    checkPeerId('look up an account', 'peerId', peerId);
    return (await this.#kv.get(K.account(peerId))).versionstamp !== null;
  }

  /** What a peer can hold as escrow: its earned credits plus its grant credits. */
  async spendable(peerId: string): Promise<number> {
    checkPeerId('read a balance', 'peerId', peerId);
    const [bal, gbal] = await this.#kv.getMany<[Deno.KvU64, Deno.KvU64]>([K.balance(peerAccount(peerId)), K.balance(grantAccount(peerId))]);
    return toNumber(bal) + toNumber(gbal);
  }

  /** Public totals: minted credits, accounts created, fees collected (no per-account data). */
  async totals(): Promise<LedgerTotals> {
    const [minted, accounts, fees] = await this.#kv.getMany<[Deno.KvU64, Deno.KvU64, Deno.KvU64]>([K.minted, K.accounts, K.balance(FEES)]);
    return { minted: toNumber(minted), accounts: toNumber(accounts), fees: toNumber(fees) };
  }

  /** Balance of an account key (`peer:x`, `escrow:j`, `fees`); 0 when absent. */
  async balance(account: string): Promise<number> {
    checkId('read a balance', 'account', account);
    return toNumber(await this.#kv.get<Deno.KvU64>(K.balance(account)));
  }

  /**
   * Moves `amount` from the client's grant and earned credits (grants first) into `escrow:<jobId>`; throws
   * MeshError('insufficient-funds') when both together hold too little.
   */
  hold(jobId: string, client: string, amount: number): Promise<void> {
    checkId('hold escrow', 'jobId', jobId);
    checkPeerId('hold escrow', 'client', client);
    checkAmount('hold escrow', 'amount', amount);
    const from = peerAccount(client);
    const fromGrant = grantAccount(client);
    const to = escrowAccount(jobId);
    return this.#run(`hold escrow for job ${jobId}`, async () => {
      const [bal, gbal, esc] = await this.#kv.getMany<[Deno.KvU64, Deno.KvU64, EscrowState]>([K.balance(from), K.balance(fromGrant), K.escrow(jobId)]);
      const state = esc.value ?? newEscrow(jobId, client);
      assertEscrowFor(state, client, `hold escrow for job ${jobId}`);
      const earned = toNumber(bal);
      const grants = toNumber(gbal);
      const { grantPart, earnedPart } = splitHold(jobId, client, amount, earned, grants);
      const op = this.#begin()
        .check(bal, gbal, esc)
        .set(K.escrow(jobId), { ...state, held: state.held + amount, grant: (state.grant ?? 0) + grantPart });
      if (grantPart > 0) op.set(K.balance(fromGrant), u64(grants - grantPart));
      if (earnedPart > 0) op.set(K.balance(from), u64(earned - earnedPart));
      credit(op, to, amount);
      this.#journal(op, 'hold', jobId, [{ from: fromGrant, to, amount: grantPart }, { from, to, amount: earnedPart }]);
      return { op, result: undefined };
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
    const from = escrowAccount(s.jobId);
    const to = peerAccount(s.contributor);
    const paid = await this.#run(`settle receipt ${s.receiptId}`, async () => {
      const [rec, esc, bal] = await this.#kv.getMany<[StoredReceipt, EscrowState, Deno.KvU64]>([
        K.receipt(s.receiptId),
        K.escrow(s.jobId),
        K.balance(from),
      ]);
      if (rec.value) {
        assertSameTerms(rec.value, s);
        return { result: false };
      }
      const state = esc.value ?? undefined;
      assertSettleable(s, state);
      const balance = toNumber(bal);
      const { grantPaid, grantFee } = splitSettlement(s, state, balance);
      const need = s.amount + s.fee;
      const grantLeft = state.grant ?? 0;
      const stored: StoredReceipt = {
        receiptId: s.receiptId,
        jobId: s.jobId,
        contributor: s.contributor,
        amount: s.amount,
        fee: s.fee,
        at: Date.now(),
        evidence,
      };
      const op = this.#begin()
        .check({ key: K.receipt(s.receiptId), versionstamp: null }, esc, bal)
        .set(K.receipt(s.receiptId), stored)
        .set(K.balance(from), u64(balance - need))
        .set(K.escrow(s.jobId), {
          ...state,
          paid: state.paid + s.amount,
          fees: state.fees + s.fee,
          settled: state.settled + 1,
          grant: grantLeft - grantPaid - grantFee,
        });
      const toGrant = grantAccount(s.contributor);
      credit(op, to, s.amount - grantPaid);
      credit(op, toGrant, grantPaid);
      credit(op, FEES, s.fee);
      this.#journal(op, 'settle', s.receiptId, [
        { from, to, amount: s.amount - grantPaid },
        { from, to: toGrant, amount: grantPaid },
        { from, to: FEES, amount: s.fee },
      ]);
      return { op, result: true };
    });
    // Read after the commit: credits are sums, so this balance includes this payment (and any later ones).
    return { paid, contributorBalance: await this.spendable(s.contributor) };
  }

  /**
   * Returns what is left in `escrow:<jobId>` to the client (its grant-funded part as grant credits) and closes
   * the escrow; returns the amount. Idempotent.
   */
  refund(jobId: string, client: string): Promise<number> {
    checkId('refund escrow', 'jobId', jobId);
    checkPeerId('refund escrow', 'client', client);
    const from = escrowAccount(jobId);
    const to = peerAccount(client);
    return this.#run(`refund escrow of job ${jobId}`, async () => {
      const [esc, bal] = await this.#kv.getMany<[EscrowState, Deno.KvU64]>([K.escrow(jobId), K.balance(from)]);
      // Refunding a job that never held anything still closes it, so a hold racing a cancel cannot reopen it.
      const state = esc.value ?? newEscrow(jobId, client);
      assertRefundTo(state, jobId, client);
      if (state.closed) return { result: 0 };
      const amount = toNumber(bal);
      const grantPart = Math.min(amount, state.grant ?? 0);
      const toGrant = grantAccount(client);
      const op = this.#begin()
        .check(esc, bal)
        .delete(K.balance(from))
        .set(K.escrow(jobId), { ...state, closed: true, refunded: state.refunded + amount, grant: 0 });
      credit(op, to, amount - grantPart);
      credit(op, toGrant, grantPart);
      this.#journal(op, 'refund', jobId, [{ from, to, amount: amount - grantPart }, { from, to: toGrant, amount: grantPart }]);
      return { op, result: amount };
    });
  }

  /**
   * Moves all of `from`'s earned and grant credits to `to` (each staying what it is), once per `ref`; a replay
   * returns the first call's amounts with `moved: false`.
   */
  link(ref: string, from: string, to: string): Promise<LinkResult> {
    checkId('link credits', 'ref', ref);
    checkPeerId('link credits', 'from', from);
    checkPeerId('link credits', 'to', to);
    if (from === to) throw new MeshError('invalid-message', `Cannot link credits of ${from} to itself`);
    const [fromPeer, fromGrant] = [peerAccount(from), grantAccount(from)];
    return this.#run<LinkResult>(`link credits of ${from} to ${to}`, async () => {
      const [rec, bal, gbal] = await this.#kv.getMany<[LinkResult & { from: string; to: string }, Deno.KvU64, Deno.KvU64]>([
        K.link(ref),
        K.balance(fromPeer),
        K.balance(fromGrant),
      ]);
      if (rec.value) return { result: { moved: false, earned: rec.value.earned, grant: rec.value.grant } };
      const earned = toNumber(bal);
      const grant = toNumber(gbal);
      const op = this.#begin()
        .check(rec, bal, gbal)
        .set(K.link(ref), { moved: true, earned, grant, from, to, at: Date.now() });
      if (earned > 0) op.delete(K.balance(fromPeer));
      if (grant > 0) op.delete(K.balance(fromGrant));
      credit(op, peerAccount(to), earned);
      credit(op, grantAccount(to), grant);
      this.#journal(op, 'link', ref, [{ from: fromPeer, to: peerAccount(to), amount: earned }, { from: fromGrant, to: grantAccount(to), amount: grant }]);
      return { op, result: { moved: true, earned, grant } };
    });
  }

  /**
   * All balances and the minted total, from one consistent state: the reads are repeated while commits land
   * between them (a commit counter brackets them), up to 20 times, then taken as they are.
   */
  async summary(): Promise<LedgerSummary> {
    let result: LedgerSummary = { minted: 0, total: 0, accounts: {} };
    for (let attempt = 0; attempt < 20; attempt++) {
      const [before, minted] = await this.#kv.getMany<[Deno.KvU64, Deno.KvU64]>([K.commits, K.minted]);
      const accounts: Record<string, number> = {};
      let total = 0;
      for await (const e of this.#kv.list<Deno.KvU64>({ prefix: ['balance'] }, { batchSize: 1000 })) {
        const amount = toNumber(e);
        accounts[String(e.key[1])] = amount;
        total += amount;
      }
      const after = await this.#kv.get<Deno.KvU64>(K.commits);
      result = { minted: toNumber(minted), total, accounts };
      if (after.versionstamp === before.versionstamp) break;
    }
    return result;
  }

  /** Entries touching an account, oldest first (bounded by limit, default 100, at most 10000). */
  async entries(account: string, limit = 100): Promise<LedgerEntry[]> {
    checkId('list entries', 'account', account);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST) {
      throw new RangeError(`Cannot list entries as 'limit' must be an integer in 1..${MAX_LIST}: current value is ${limit}`);
    }
    const out: LedgerEntry[] = [];
    for await (const e of this.#kv.list<EntryRecord>({ prefix: ['entries-by', account] }, { limit })) {
      const vs = String(e.key[2]);
      for (const m of e.value.moves) {
        if (out.length === limit) return out;
        out.push({ seq: seqOf(vs, m.i), at: e.value.at, kind: e.value.kind, from: m.from, to: m.to, amount: m.amount, ref: e.value.ref });
      }
    }
    return out;
  }

  /** The escrow of a job, or undefined when none was ever held or refunded. */
  async escrow(jobId: string): Promise<EscrowState | undefined> {
    checkId('read escrow', 'jobId', jobId);
    return (await this.#kv.get<EscrowState>(K.escrow(jobId))).value ?? undefined;
  }

  /** The stored settlement for a receipt id, or undefined when it was never paid. */
  async receipt(receiptId: string): Promise<StoredReceipt | undefined> {
    checkId('read a receipt', 'receiptId', receiptId);
    return (await this.#kv.get<StoredReceipt>(K.receipt(receiptId))).value ?? undefined;
  }

  /** Closes the KV handle. */
  close(): void {
    this.#kv.close();
  }

  #run<T>(what: string, attempt: () => Promise<Attempt<T>>): Promise<T> {
    return commitWithRetry(what, attempt, this.#stats, this.#retry);
  }

  #begin(): Deno.AtomicOperation {
    return this.#kv.atomic().sum(K.commits, 1n);
  }

  /** Adds the journal entry and one index key per touched account to `op`; zero movements are not journalled. */
  #journal(op: Deno.AtomicOperation, kind: LedgerEntry['kind'], ref: string, moves: Omit<Move, 'i'>[]): void {
    const kept = moves.map((m, i) => ({ ...m, i })).filter((m) => m.amount > 0);
    if (kept.length === 0) return;
    const at = Date.now();
    const vs = this.#kv.commitVersionstamp();
    op.set(['entry', vs], { at, kind, ref, moves: kept } satisfies EntryRecord);
    const accounts = new Set(kept.flatMap((m) => [m.from, m.to]).filter((a) => a !== MINT));
    for (const account of accounts) {
      const touching = kept.filter((m) => m.from === account || m.to === account);
      op.set(['entries-by', account, vs], { at, kind, ref, moves: touching } satisfies EntryRecord);
    }
  }
}
