/** Types and assertions shared by the ledger suite's test groups. */
import assert from 'node:assert/strict';
import { MeshError } from '../../src/protocol/errors.ts';
import type { RetryStats } from './_retry.ts';
import type { AuditableLedger } from './types.ts';

/** What the suite needs of an engine. */
export interface SuiteLedger extends AuditableLedger {
  stats(): Readonly<RetryStats>;
  close(): void | Promise<void>;
  /** Engine-specific check of the books; returns the discrepancies found. */
  audit?(): Promise<string[]>;
}

/** Opens a fresh, empty ledger minting `starterCredits` per new account. */
export type OpenLedger = (starterCredits: number) => Promise<SuiteLedger>;

/** What each group of suite tests gets. */
export interface SuiteContext {
  /** Opens a ledger that the suite checks and closes after the test. */
  open: OpenLedger;
  /** Runs `fn` on a fresh ledger (checked and closed after the test). */
  withLedger(fn: (ledger: SuiteLedger) => Promise<void>, starterCredits?: number): Promise<void>;
}

/** Starter credits of the suite's ledgers unless a test says otherwise. */
export const STARTER = 1_000_000;

/** An `assert.rejects` predicate: a MeshError with `code` (and a message matching `message`). */
export function isMeshError(code: string, message?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof MeshError, `expected MeshError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

/** Asserts the ledger's invariants: sum(balances) == minted, every balance a non-negative safe integer. */
export async function assertBalanced(ledger: SuiteLedger): Promise<void> {
  const s = await ledger.summary();
  assert.equal(s.total, s.minted, `sum of balances ${s.total} != minted ${s.minted}`);
  for (const [account, v] of Object.entries(s.accounts)) {
    assert.ok(Number.isSafeInteger(v) && v >= 0, `balance of ${account} is ${v}`);
  }
  if (ledger.audit) assert.deepEqual(await ledger.audit(), []);
}
