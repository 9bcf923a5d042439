import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import type { Lease } from '../../../src/protocol/coordinator.ts';
import { onnxJob } from '../../testing/fixtures.ts';
import { testDatabase } from '../../testing/postgres.ts';
import { marketStoreSuite } from '../market-store-suite.ts';
import type { StoredShard } from '../types.ts';
import { MARKET_COMPONENT, MARKET_MIGRATIONS } from './market-schema.ts';
import { PgMarketStore, openPgMarketStore } from './market-store.ts';
import { migrate } from './migrate.ts';

marketStoreSuite('PostgreSQL', async () => {
  const db = await testDatabase();
  try {
    const store = await openPgMarketStore({ url: db.url, poolSize: 2 });
    return { store, close: () => store.close().finally(db.drop) };
  } catch (err) {
    await db.drop();
    throw err;
  }
});

/** A shard whose only run carries `tag` as its lease id, so a read shows who wrote it. */
function tagged(tag: string): StoredShard {
  const lease: Lease = { leaseId: tag, jobId: 'j', shard: 0, client: 'c', contributor: 'w', price: 1, expiresAt: 1, replica: false, verified: false };
  return { verify: false, waived: false, tiebreak: false, done: false, runs: [{ lease, role: 'primary', network: 'n', startedAt: 0, state: 'leased' }] };
}

describe('PgMarketStore on PostgreSQL', () => {
  it('two instances racing moveJob(): exactly one wins, and shard writes fenced by the loser or the old owner land before the move or not at all', async () => {
    const db = await testDatabase();
    const [a, b] = await Promise.all([openPgMarketStore({ url: db.url }), openPgMarketStore({ url: db.url })]);
    try {
      for (let round = 0; round < 20; round++) {
        const jobId = `j${round}`;
        await a.putJob({ jobId, client: 'c', spec: onnxJob({ shards: 50 }), seq: round, submittedAt: round, escrow: 1, feeRate: 0, bytes: 1, sampled: [], owner: 'dead' });
        const all = (tag: string) => Array.from({ length: 50 }, (_, i) => [i, tagged(tag)] as const);
        // The old owner keeps writing while a and b race to take the job over, each writing as soon as it tries.
        const old = Array.from({ length: 4 }, () => a.putShards(jobId, all('dead'), 'dead'));
        const [movedA, movedB] = await Promise.all([a.moveJob(jobId, 'dead', 'a'), b.moveJob(jobId, 'dead', 'b')]);
        assert.equal(Number(movedA) + Number(movedB), 1, `round ${round}: exactly one move wins`);
        const [winner, loser] = movedA ? [a, b] : [b, a];
        const [won, lost] = movedA ? ['a', 'b'] : ['b', 'a'];
        const loserWrites = await Promise.all([loser.putShards(jobId, all(lost), lost), loser.putShards(jobId, all(lost), 'dead')]);
        assert.deepEqual(loserWrites, [false, false]);
        assert.equal(await winner.putShards(jobId, all(won), won), true);
        await Promise.all(old);
        assert.equal(await b.putShards(jobId, all('dead'), 'dead'), false);
        const stored = await winner.loadJob(jobId);
        assert.equal(stored!.job.owner, won);
        assert.deepEqual(new Set([...stored!.shards.values()].map((s) => s.runs[0]!.lease.leaseId)), new Set([won]), `round ${round}`);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });

  it('writes 2,000 shards of a 10,000-shard job in one statement', async () => {
    const db = await testDatabase();
    const statements: string[] = [];
    const sql = postgres(db.url, { max: 1, fetch_types: false, onnotice: () => {}, debug: (_conn, query) => statements.push(query) });
    try {
      await migrate(sql, MARKET_COMPONENT, MARKET_MIGRATIONS);
      const store = new PgMarketStore(sql);
      await store.putJob({ jobId: 'big', client: 'c', spec: onnxJob({ shards: 10_000 }), seq: 1, submittedAt: 1, escrow: 1, feeRate: 0, bytes: 1, sampled: [], owner: 'i' });
      statements.length = 0;
      assert.equal(await store.putShards('big', Array.from({ length: 2_000 }, (_, i) => [i, tagged(`l${i}`)] as const), 'i'), true);
      assert.equal(statements.length, 1);
      const stored = await store.loadJob('big');
      assert.equal(stored!.shards.size, 2_000);
      assert.equal(stored!.job.spec.shards.length, 10_000);
    } finally {
      await sql.end();
      await db.drop();
    }
  });
});
