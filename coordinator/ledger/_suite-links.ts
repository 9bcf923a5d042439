/** Suite tests of credit links: everything an identity holds moves to another, once, grants staying grants. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { grantAccount, peerAccount } from './accounts.ts';
import { isMeshError, STARTER, type SuiteContext } from './_suite-helpers.ts';

/** Registers the link tests. */
export function linkTests({ withLedger }: SuiteContext): void {
  it('link() moves earned credits to earned and grant credits to grant, once per ref', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('client');
      await ledger.ensureAccount('embed');
      await ledger.ensureAccount('app');
      await ledger.hold('j', 'client', 1_000);
      await ledger.settle({ receiptId: 'r1', jobId: 'j', contributor: 'embed', amount: 600, fee: 30 });
      // The client's hold drew its grant first, so the embed was paid grant credit: it stays grant.
      const grantBefore = await ledger.balance(grantAccount('embed'));
      const earnedBefore = await ledger.balance(peerAccount('embed'));
      assert.equal(grantBefore, STARTER + 600);
      const first = await ledger.link('link-1', 'embed', 'app');
      assert.deepEqual(first, { moved: true, earned: earnedBefore, grant: grantBefore });
      assert.equal(await ledger.spendable('embed'), 0);
      assert.equal(await ledger.balance(grantAccount('app')), STARTER + grantBefore);
      assert.equal(await ledger.balance(peerAccount('app')), earnedBefore);
      const replay = await ledger.link('link-1', 'embed', 'app');
      assert.deepEqual(replay, { moved: false, earned: earnedBefore, grant: grantBefore });
      assert.equal(await ledger.balance(grantAccount('app')), STARTER + grantBefore, 'a replay moves nothing');
      const entries = await ledger.entries(grantAccount('app'));
      assert.ok(entries.some((e) => e.kind === 'link' && e.ref === 'link-1' && e.amount === grantBefore));
    }));

  it('link() of an empty or unknown identity moves nothing; linking to itself is refused', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('app');
      assert.deepEqual(await ledger.link('l', 'nobody', 'app'), { moved: true, earned: 0, grant: 0 });
      assert.equal(await ledger.spendable('app'), STARTER);
      await assert.rejects(async () => await ledger.link('l2', 'app', 'app'), isMeshError('invalid-message', /to itself/));
    }));

  it('concurrent links of one ref move the credits once', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('embed');
      await ledger.ensureAccount('app');
      const results = await Promise.all(Array.from({ length: 6 }, () => ledger.link('same', 'embed', 'app')));
      assert.equal(results.filter((r) => r.moved).length, 1);
      assert.equal(await ledger.spendable('app'), 2 * STARTER);
      assert.equal(await ledger.spendable('embed'), 0);
    }));
}
