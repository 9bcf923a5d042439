import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertBalanced, ledgerSuite, STARTER } from '../../ledger/ledger-suite.ts';
import { escrowAccount, FEES } from '../../ledger/accounts.ts';
import { testDatabase } from '../../testing/postgres.ts';
import { openPgLedger, type PgLedger } from './pg-ledger.ts';

/** A PgLedger on a fresh database of the shared throwaway server; closing it drops the database. */
async function openOnFreshDatabase(starterCredits: number): Promise<PgLedger> {
  const db = await testDatabase();
  try {
    const ledger = await openPgLedger({ url: db.url, starterCredits });
    const close = ledger.close.bind(ledger);
    ledger.close = async () => {
      await close();
      await db.drop();
    };
    return ledger;
  } catch (err) {
    await db.drop();
    throw err;
  }
}

ledgerSuite('PgLedger', openOnFreshDatabase);

describe('PgLedger on PostgreSQL', () => {
  it('two instances on one database pay 50 concurrent distinct receipts and 20 copies of one receipt once', async () => {
    const db = await testDatabase();
    const [a, b] = await Promise.all([openPgLedger({ url: db.url, starterCredits: STARTER }), openPgLedger({ url: db.url, starterCredits: STARTER })]);
    try {
      await a.ensureAccount('c');
      assert.equal((await b.ensureAccount('c')).created, false);
      await b.hold('j', 'c', 100_000);
      const ledgers = [a, b];
      const distinct = await Promise.all(Array.from({ length: 50 }, (_, i) =>
        ledgers[i % 2]!.settle({ receiptId: `j:${i}`, jobId: 'j', contributor: `w${i % 5}`, amount: 1000, fee: 50 })));
      assert.ok(distinct.every((r) => r.paid));
      const same = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        ledgers[i % 2]!.settle({ receiptId: 'dup', jobId: 'j', contributor: 'w0', amount: 700, fee: 35 })));
      assert.equal(same.filter((r) => r.paid).length, 1);
      assert.equal(await a.spendable('w0'), 10 * 1000 + 700);
      assert.equal(await b.balance(escrowAccount('j')), 100_000 - 50 * 1050 - 735);
      assert.equal(await a.balance(FEES), 50 * 50 + 35);
      assert.equal((await b.escrow('j'))?.settled, 51);
      await assertBalanced(a);
      await assertBalanced(b);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });

  it('two instances never spend the same credits twice under concurrent holds', async () => {
    const db = await testDatabase();
    const [a, b] = await Promise.all([openPgLedger({ url: db.url, starterCredits: STARTER }), openPgLedger({ url: db.url, starterCredits: STARTER })]);
    try {
      await a.ensureAccount('c');
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => [a, b][i % 2]!.hold(`j${i}`, 'c', 300_000)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3);
      assert.equal(await b.spendable('c'), STARTER - 900_000);
      await assertBalanced(a);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });

  it('a ledger reopened on the same database keeps its balances, receipts and journal', async () => {
    const db = await testDatabase();
    try {
      const first = await openPgLedger({ url: db.url, starterCredits: STARTER });
      await first.ensureAccount('c');
      await first.hold('j', 'c', 1000);
      await first.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 400, fee: 20 });
      const before = await first.summary();
      await first.close();

      const second = await openPgLedger({ url: db.url, starterCredits: STARTER });
      try {
        assert.deepEqual(await second.summary(), before);
        assert.deepEqual(await second.ensureAccount('c'), { created: false, balance: STARTER - 1000, granted: false });
        assert.equal((await second.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 400, fee: 20 })).paid, false);
        assert.equal((await second.entries(escrowAccount('j'))).length, 3);
        await assertBalanced(second);
      } finally {
        await second.close();
      }
    } finally {
      await db.drop();
    }
  });
});
