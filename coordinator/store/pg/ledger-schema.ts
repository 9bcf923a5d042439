/**
 * The ledger's tables, built so the database itself refuses broken books, whatever SQL reaches it:
 *
 * - `movements` is the journal: one row per transfer of a positive amount from one account to another, so each
 *   row is balanced by construction. It is append-only (UPDATE, DELETE and TRUNCATE raise).
 * - `balances` is derived: triggers on `movements` debit it at once and credit it at commit, and a guard
 *   trigger refuses any other insert or update of it (and the deletion of a non-zero row). `balance >= 0` is a
 *   CHECK, so an overdraft aborts the transaction. `mint` may only send (it is the one account allowed to go
 *   negative, so it has no row), hence sum(balances) == sum(mint movements) == minted, always.
 * - `escrows`, `receipts` (primary key: a replay pays once across instances) and `grant_counters` hold the
 *   state the money rules read; their CHECKs bound it (an escrow never pays out more than was held).
 */
import type { Migration } from './migrate.ts';

/** Component name of the ledger in `schema_migrations`. */
export const LEDGER_COMPONENT = 'ledger';

const V1 = `
CREATE TABLE ledger_accounts (
  peer_id text PRIMARY KEY CHECK (length(peer_id) BETWEEN 1 AND 256 AND strpos(peer_id, ':') = 0),
  created_at bigint NOT NULL,
  starter bigint NOT NULL CHECK (starter >= 0),
  network text NOT NULL
);

CREATE TABLE balances (
  account text PRIMARY KEY CHECK (account <> 'mint'),
  balance bigint NOT NULL CHECK (balance >= 0)
);

CREATE TABLE movements (
  id bigserial PRIMARY KEY,
  commit_id bigint NOT NULL DEFAULT txid_current(),
  at bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('mint', 'hold', 'settle', 'refund')),
  ref text NOT NULL,
  from_account text NOT NULL,
  to_account text NOT NULL CHECK (to_account <> 'mint'),
  amount bigint NOT NULL CHECK (amount > 0),
  CHECK (from_account <> to_account),
  CHECK ((kind = 'mint') = (from_account = 'mint'))
);
CREATE INDEX movements_from ON movements (from_account, id);
CREATE INDEX movements_to ON movements (to_account, id);

CREATE TABLE escrows (
  job_id text PRIMARY KEY,
  client text NOT NULL,
  closed boolean NOT NULL DEFAULT false,
  held bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
  paid bigint NOT NULL DEFAULT 0 CHECK (paid >= 0),
  fees bigint NOT NULL DEFAULT 0 CHECK (fees >= 0),
  settled integer NOT NULL DEFAULT 0 CHECK (settled >= 0),
  refunded bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  grant_left bigint NOT NULL DEFAULT 0 CHECK (grant_left >= 0),
  CHECK (paid + fees + refunded <= held),
  CHECK (grant_left <= held - paid - fees - refunded)
);

CREATE TABLE receipts (
  receipt_id text PRIMARY KEY,
  job_id text NOT NULL REFERENCES escrows (job_id),
  contributor text NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0),
  fee bigint NOT NULL CHECK (fee >= 0),
  at bigint NOT NULL,
  evidence text
);

CREATE TABLE grant_counters (
  network text NOT NULL,
  day date NOT NULL,
  count integer NOT NULL CHECK (count >= 0),
  PRIMARY KEY (network, day)
);

-- Applies a movement to the balances, the only way they change: the debit at once (an overdraft aborts the
-- statement), the credit at COMMIT. A credit cannot overdraw, and deferring it means the rows every settle
-- credits (fees, a busy contributor) are locked only while the commit runs, not across client round trips.
-- Consequence: a transaction does not see its own credits, so none may spend what it was credited itself.
CREATE FUNCTION ledger_debit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.from_account <> 'mint' THEN
    UPDATE balances SET balance = balance - NEW.amount WHERE account = NEW.from_account;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'Cannot move % from % as it has no balance: current balance is 0', NEW.amount, NEW.from_account
        USING ERRCODE = 'check_violation', CONSTRAINT = 'balances_balance_check';
    END IF;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION ledger_credit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO balances AS b (account, balance) VALUES (NEW.to_account, NEW.amount)
    ON CONFLICT (account) DO UPDATE SET balance = b.balance + EXCLUDED.balance;
  RETURN NULL;
END $$;
CREATE TRIGGER movements_debit AFTER INSERT ON movements FOR EACH ROW EXECUTE FUNCTION ledger_debit();
CREATE CONSTRAINT TRIGGER movements_credit AFTER INSERT ON movements DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_credit();

-- Balances written by hand would create or destroy credits: only ledger_debit and ledger_credit (one trigger
-- level down) may insert or update them; an empty row may be deleted (a refunded escrow), which changes no sum.
CREATE FUNCTION ledger_guard_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.balance <> 0 THEN
      RAISE EXCEPTION 'Cannot delete balance % as it is not empty: current balance is %', OLD.account, OLD.balance
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'Cannot % balance % outside a movement as balances change only through movements: current trigger depth is %',
      TG_OP, NEW.account, pg_trigger_depth()
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER balances_guard BEFORE INSERT OR UPDATE OR DELETE ON balances FOR EACH ROW EXECUTE FUNCTION ledger_guard_balances();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'Cannot % % as it is append-only', TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON movements FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER movements_no_truncate BEFORE TRUNCATE ON movements FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER balances_no_truncate BEFORE TRUNCATE ON balances FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
`;

// Credits moved from one identity to another that signed it (an embed's identity into the visitor's app one):
// one row per ref, so a replayed link moves nothing.
const V2 = `
ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check CHECK (kind IN ('mint', 'hold', 'settle', 'refund', 'link'));
CREATE TABLE credit_links (
  ref text PRIMARY KEY,
  from_peer text NOT NULL,
  to_peer text NOT NULL,
  earned bigint NOT NULL CHECK (earned >= 0),
  grant_amount bigint NOT NULL CHECK (grant_amount >= 0),
  at bigint NOT NULL,
  CHECK (from_peer <> to_peer)
);
`;

/** The ledger's migrations, in order; append, never edit. */
export const LEDGER_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'ledger tables, balance triggers and guards', sql: V1 },
  { version: 2, name: 'credit links', sql: V2 },
];
