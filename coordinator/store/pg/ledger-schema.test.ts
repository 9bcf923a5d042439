import { it } from 'node:test';
import assert from 'node:assert/strict';
import { grantAccount } from '../../ledger/accounts.ts';
import { STARTER } from '../../ledger/ledger-suite.ts';
import { testDatabase } from '../../testing/postgres.ts';
import { connectPg, type Sql, sqlState } from './connect.ts';
import { openPgLedger } from './pg-ledger.ts';

/** Asserts that raw `statement` fails with SQLSTATE `code` (and a message matching `message`). */
async function refused(sql: Sql, statement: string, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(sql.unsafe(statement), (err: unknown) => {
    assert.equal(sqlState(err), code, `${statement}: ${String(err)}`);
    if (message) assert.match((err as Error).message, message);
    return true;
  });
}

it('the database refuses a negative balance and an unbalanced hand-written movement, even from raw SQL', async () => {
  const db = await testDatabase();
  const ledger = await openPgLedger({ url: db.url, starterCredits: STARTER });
  const sql = connectPg(db.url, { max: 1 });
  try {
    await ledger.ensureAccount('c');
    await ledger.hold('j', 'c', 1000);
    await ledger.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 400, fee: 20 });
    const before = await ledger.summary();
    const move = (from: string, to: string, amount: number, kind = 'hold'): string =>
      `INSERT INTO movements (at, kind, ref, from_account, to_account, amount) VALUES (0, '${kind}', 'x', '${from}', '${to}', ${amount})`;

    // Overdrafts: from an account with no balance, or more than it holds.
    await refused(sql, move('peer:nobody', 'peer:c', 5), '23514', /has no balance/);
    await refused(sql, move(grantAccount('c'), 'peer:d', STARTER), '23514', /balances_balance_check/);
    // Movements that are not a transfer of a positive amount between two accounts.
    await refused(sql, move(grantAccount('c'), 'peer:d', 0), '23514');
    await refused(sql, move(grantAccount('c'), 'peer:d', -5), '23514');
    await refused(sql, move(grantAccount('c'), grantAccount('c'), 5), '23514');
    await refused(sql, move(grantAccount('c'), 'mint', 5), '23514');
    await refused(sql, move(grantAccount('c'), 'peer:d', 5, 'mint'), '23514');
    await refused(sql, move('mint', 'peer:d', 5, 'hold'), '23514');
    // Balances written by hand, which would create or destroy credits.
    await refused(sql, `UPDATE balances SET balance = balance + 100 WHERE account = '${grantAccount('c')}'`, '23000', /outside a movement/);
    await refused(sql, `UPDATE balances SET balance = -1 WHERE account = 'fees'`, '23000');
    await refused(sql, `INSERT INTO balances (account, balance) VALUES ('peer:x', 5)`, '23000', /outside a movement/);
    await refused(sql, `INSERT INTO balances (account, balance) VALUES ('mint', 0)`, '23000');
    await refused(sql, `DELETE FROM balances WHERE account = '${grantAccount('c')}'`, '23000', /not empty/);
    await refused(sql, `TRUNCATE balances`, '23000', /append-only/);
    // The journal is append-only.
    await refused(sql, `UPDATE movements SET amount = amount + 1`, '23000', /append-only/);
    await refused(sql, `DELETE FROM movements`, '23000', /append-only/);
    await refused(sql, `TRUNCATE movements CASCADE`, '23000', /append-only/);
    // An escrow cannot record paying out more than was held.
    await refused(sql, `UPDATE escrows SET paid = held + 1 WHERE job_id = 'j'`, '23514');
    await refused(sql, `UPDATE escrows SET grant_left = -1 WHERE job_id = 'j'`, '23514');
    // A receipt id is paid once, whoever inserts it.
    await refused(sql, `INSERT INTO receipts (receipt_id, job_id, contributor, amount, fee, at) VALUES ('r', 'j', 'w', 1, 0, 0)`, '23505');

    assert.deepEqual(await ledger.summary(), before);
    // A well-formed hand-written movement is applied by the trigger and keeps the books balanced.
    await sql.unsafe(move(grantAccount('c'), 'peer:d', 10));
    assert.equal(await ledger.balance('peer:d'), 10);
    assert.equal(await ledger.balance(grantAccount('c')), before.accounts[grantAccount('c')]! - 10);
    const after = await ledger.summary();
    assert.equal(after.total, after.minted);
    assert.deepEqual(await ledger.audit(), []);
  } finally {
    await sql.end();
    await ledger.close();
    await db.drop();
  }
});
