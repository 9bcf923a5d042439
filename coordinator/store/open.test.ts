import { it } from 'node:test';
import assert from 'node:assert/strict';
import { testDatabase } from '../testing/postgres.ts';
import { connectPg } from './pg/connect.ts';
import { openStore } from './open.ts';
import { LEDGER_MIGRATIONS } from './pg/ledger-schema.ts';

it('openStore() opens Deno KV for "kv" and PostgreSQL for a postgres:// URL, and refuses anything else', async () => {
  const kv = await openStore('kv', ':memory:', 1000);
  assert.equal((await kv.ledger.ensureAccount('mwa')).balance, 1000);
  assert.equal(await kv.market.hasJob('j'), false);
  await kv.close();

  const db = await testDatabase();
  try {
    for (const url of [db.url, db.url.replace(/^postgres:/, 'postgresql:')]) {
      const pg = await openStore(url, '/nonexistent/unused', 1000);
      await pg.ledger.ensureAccount('mwa');
      await pg.market.heartbeat('i1', 'https://a.example');
      await pg.close();
    }
    const sql = connectPg(db.url, { max: 1 });
    try {
      const rows = await sql`SELECT component, max(version)::int AS version FROM schema_migrations GROUP BY component ORDER BY component`;
      assert.deepEqual(rows.map((r) => [r.component, r.version]), [['ledger', LEDGER_MIGRATIONS.length], ['market', 1]]);
      assert.equal((await sql`SELECT count(*)::int AS n FROM market_instances`)[0]!.n, 1);
    } finally {
      await sql.end();
    }
  } finally {
    await db.drop();
  }

  await assert.rejects(openStore('mysql://user:secret@host/db', ':memory:', 1), (err: unknown) =>
    err instanceof RangeError && /current value is 'mysql'/.test(err.message) && !err.message.includes('secret'));
});
