import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../../src/protocol/errors.ts';
import { INSTALL_COMMAND, startPostgres, testDatabase } from '../../testing/postgres.ts';
import { connectPg } from './connect.ts';
import { LEDGER_COMPONENT, LEDGER_MIGRATIONS } from './ledger-schema.ts';
import { migrate } from './migrate.ts';
import { openPgLedger } from './pg-ledger.ts';
import { transact } from './_tx.ts';

it('migrate() applies each version once when several instances start at once, and refuses a newer database', async () => {
  const db = await testDatabase();
  const sql = connectPg(db.url, { max: 2 });
  try {
    const ledgers = await Promise.all(Array.from({ length: 4 }, () => openPgLedger({ url: db.url, starterCredits: 1 })));
    await Promise.all(ledgers.map((l) => l.close()));
    const rows = await sql`SELECT component, version FROM schema_migrations ORDER BY version`;
    assert.deepEqual(rows.map((r) => [r.component, r.version]), LEDGER_MIGRATIONS.map((m) => [LEDGER_COMPONENT, m.version]));
    assert.deepEqual(await migrate(sql, LEDGER_COMPONENT, LEDGER_MIGRATIONS), []);
    await assert.rejects(migrate(sql, LEDGER_COMPONENT, []), new RegExp(`newer than this code knows \\(0\\): current version is ${LEDGER_MIGRATIONS.length}`));
    await assert.rejects(migrate(sql, 'x', [{ version: 2, name: 'gap', sql: 'SELECT 1' }]), RangeError);
  } finally {
    await sql.end();
    await db.drop();
  }
});

it('migrate() applies nothing of a batch when one migration fails', async () => {
  const db = await testDatabase();
  const sql = connectPg(db.url, { max: 1 });
  try {
    const good = { version: 1, name: 'table', sql: 'CREATE TABLE a (x int); CREATE TABLE b (y int);' };
    await assert.rejects(migrate(sql, 'x', [good, { version: 2, name: 'broken', sql: 'CREATE TABLE c (' }]), /syntax error/);
    // Even the bookkeeping table of this first migration rolled back.
    const [row] = await sql`SELECT to_regclass('a')::text AS a, to_regclass('schema_migrations')::text AS m`;
    assert.deepEqual({ ...row }, { a: null, m: null });
    assert.deepEqual(await migrate(sql, 'x', [good]), [1]);
  } finally {
    await sql.end();
    await db.drop();
  }
});

it('transact() retries serialization failures and deadlocks, and gives up with MeshError(conflict)', async () => {
  const db = await testDatabase();
  const sql = connectPg(db.url, { max: 1 });
  const abort = (state: string): string => `DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '${state}'; END $$`;
  const policy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
  try {
    const stats = { commits: 0, conflicts: 0 };
    let attempts = 0;
    const value = await transact(sql, 'test', async (tx) => {
      if (++attempts < 3) await tx.unsafe(abort(attempts === 1 ? '40001' : '40P01'));
      return 42;
    }, stats, policy);
    assert.deepEqual({ value, attempts, stats }, { value: 42, attempts: 3, stats: { commits: 1, conflicts: 2 } });

    await assert.rejects(
      transact(sql, 'settle receipt r', (tx) => tx.unsafe(abort('40P01')), stats, policy),
      (err: unknown) => err instanceof MeshError && err.code === 'conflict' && /Cannot settle receipt r.*attempt limit is 3/.test(err.message),
    );
    attempts = 0;
    await assert.rejects(transact(sql, 'test', async (tx) => {
      attempts++;
      await tx.unsafe(abort('23514'));
    }, stats, policy), /injected/);
    assert.equal(attempts, 1, 'a constraint violation is not retried');
  } finally {
    await sql.end();
    await db.drop();
  }
});

it('startPostgres() names the install command when the server binaries are missing', async () => {
  await assert.rejects(startPostgres({ binDirs: ['/nonexistent/bin'] }), (err: unknown) => err instanceof Error && err.message === INSTALL_COMMAND);
});
