/** Suite tests of refusals: failed operations, double spends, closed escrows and bad arguments. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_EVIDENCE_CHARS } from './_checks.ts';
import { escrowAccount } from './accounts.ts';
import { isMeshError, STARTER, type SuiteContext } from './_suite-helpers.ts';

/** Registers the refusal tests. */
export function guardTests({ open, withLedger }: SuiteContext): void {
  it('failed operations leave balances unchanged', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      await ledger.hold('j', 'c', 500);
      const before = await ledger.summary();
      await assert.rejects(ledger.hold('j', 'c', STARTER), isMeshError('insufficient-funds', new RegExp(`balance is ${STARTER - 500}`)));
      await assert.rejects(ledger.hold('j2', 'nobody', 1), isMeshError('insufficient-funds', /nobody holds too little.*balance is 0/));
      await assert.rejects(
        ledger.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 480, fee: 24 }),
        isMeshError('insufficient-funds', /480 \+ fee 24.*balance is 500/),
      );
      await assert.rejects(ledger.settle({ receiptId: 'r', jobId: 'nojob', contributor: 'w', amount: 1, fee: 0 }), isMeshError('not-found'));
      await assert.rejects(ledger.hold('j', 'other', 1), isMeshError('conflict', /belongs to client c/));
      await assert.rejects(ledger.refund('j', 'other'), isMeshError('conflict', /belongs to client c/));
      assert.deepEqual(await ledger.summary(), before);
      assert.equal(await ledger.receipt('r'), undefined);
      assert.equal(await ledger.escrow('j2'), undefined, 'a refused hold opens no escrow');
    }));

  it('hold() never spends the same credits twice under concurrent holds', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => ledger.hold(`j${i}`, 'c', 300_000)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3);
      for (const o of outcomes) if (o.status === 'rejected') isMeshError('insufficient-funds')(o.reason);
      assert.equal(await ledger.spendable('c'), STARTER - 900_000);
    }, 1_000_000));

  it('a closed escrow refuses further holds and settlements', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      await ledger.hold('j', 'c', 300);
      assert.equal(await ledger.refund('j', 'c'), 300);
      await assert.rejects(ledger.hold('j', 'c', 10), isMeshError('conflict', /escrow is closed/));
      await assert.rejects(ledger.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 0, fee: 0 }), isMeshError('conflict', /closed/));
      // A refund before any hold (a job cancelled early) closes the job too.
      assert.equal(await ledger.refund('early', 'c'), 0);
      await assert.rejects(ledger.hold('early', 'c', 10), isMeshError('conflict'));
      assert.equal(await ledger.spendable('c'), STARTER);
    }));

  it('rejects invalid amounts and ids with messages naming the value', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      await assert.rejects(async () => await ledger.hold('j', 'c', -5), (err: unknown) => err instanceof RangeError && /'amount'.*current value is -5/.test(err.message));
      await assert.rejects(async () => await ledger.hold('j', 'c', 1.5), /'amount'.*current value is 1\.5/);
      await assert.rejects(async () => await ledger.hold('j', 'c', Number.NaN), /current value is NaN/);
      await assert.rejects(
        async () => await ledger.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 1, fee: -1 }),
        /'fee'.*current value is -1/,
      );
      await assert.rejects(
        async () => await ledger.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 2 ** 53, fee: 0 }),
        /'amount'.*9007199254740992/,
      );
      await assert.rejects(async () => await ledger.hold('j', 'peer:c', 1), /peer id, not an account key.*"peer:c"/);
      await assert.rejects(async () => await ledger.hold('', 'c', 1), /'jobId'.*current value is ""/);
      await assert.rejects(async () => await ledger.hold('x'.repeat(257), 'c', 1), (err: unknown) => err instanceof TypeError);
      await assert.rejects(open(-1), /'starterCredits'.*current value is -1/);
      await assert.rejects(async () => await ledger.entries('fees', 0), /'limit'.*current value is 0/);
      assert.equal(await ledger.spendable('c'), STARTER);
    }));

  it('refuses oversized or non-JSON evidence without paying', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      await ledger.hold('j', 'c', 1000);
      const big = { blob: 'x'.repeat(MAX_EVIDENCE_CHARS) };
      await assert.rejects(
        ledger.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 10, fee: 1, evidence: big }),
        isMeshError('too-large', new RegExp(`current size is ${MAX_EVIDENCE_CHARS + 11}`)),
      );
      await assert.rejects(
        async () => await ledger.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 10, fee: 1, evidence: { n: 1n } }),
        (err: unknown) => err instanceof TypeError && /not JSON-encodable/.test(err.message),
      );
      assert.equal(await ledger.balance(escrowAccount('j')), 1000);
      assert.equal(await ledger.receipt('r'), undefined);
    }));
}
