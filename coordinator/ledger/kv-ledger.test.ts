import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escrowAccount } from './accounts.ts';
import { openLedger } from './kv-ledger.ts';
import { assertBalanced, isMeshError, ledgerSuite, STARTER } from './ledger-suite.ts';

ledgerSuite('KvLedger', (starterCredits) => openLedger({ path: ':memory:', starterCredits }));

describe('KvLedger on Deno KV', () => {
  it('a ledger reopened from the same file keeps its balances, receipts and journal', async () => {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/nested/ledger.kv`;
    try {
      const first = await openLedger({ path, starterCredits: STARTER });
      await first.ensureAccount('c');
      await first.hold('j', 'c', 1000);
      await first.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 400, fee: 20 });
      const before = await first.summary();
      first.close();

      const second = await openLedger({ path, starterCredits: STARTER });
      try {
        assert.deepEqual(await second.summary(), before);
        assert.deepEqual(await second.ensureAccount('c'), { created: false, balance: STARTER - 1000, granted: false });
        assert.equal((await second.settle({ receiptId: 'r', jobId: 'j', contributor: 'w', amount: 400, fee: 20 })).paid, false);
        assert.equal((await second.entries(escrowAccount('j'))).length, 3);
        await assertBalanced(second);
      } finally {
        second.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it('gives up with MeshError(conflict) when every attempt conflicts, leaving the books balanced', async () => {
    const ledger = await openLedger({ path: ':memory:', starterCredits: STARTER, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    try {
      await ledger.ensureAccount('c');
      await ledger.hold('j', 'c', 100_000);
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) =>
        ledger.settle({ receiptId: `r${i}`, jobId: 'j', contributor: 'w', amount: 100, fee: 5 })));
      const failed = outcomes.filter((o) => o.status === 'rejected');
      assert.ok(failed.length > 0, 'concurrent single-attempt settles must conflict');
      for (const f of failed) isMeshError('conflict', /attempt limit is 1/)((f as PromiseRejectedResult).reason);
      const landed = outcomes.length - failed.length;
      assert.equal(await ledger.spendable('w'), 100 * landed);
      assert.ok(ledger.stats().conflicts >= failed.length);
      await assertBalanced(ledger);
    } finally {
      ledger.close();
    }
  });
});
