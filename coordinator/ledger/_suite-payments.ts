/** Suite tests of the money paths: minting, hold/settle/refund, receipt replays and grant credits. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { escrowAccount, FEES, grantAccount, peerAccount } from './accounts.ts';
import { assertBalanced, isMeshError, STARTER, type SuiteContext } from './_suite-helpers.ts';

/** Registers the payment tests. */
export function paymentTests({ withLedger }: SuiteContext): void {
  it('ensureAccount() mints the starter credits once per account, even under concurrent calls', () =>
    withLedger(async (ledger) => {
      assert.deepEqual(await ledger.ensureAccount('alice'), { created: true, balance: STARTER, granted: true });
      assert.deepEqual(await ledger.ensureAccount('alice'), { created: false, balance: STARTER, granted: false });
      const results = await Promise.all(Array.from({ length: 20 }, () => ledger.ensureAccount('bob')));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.ok(results.every((r) => r.balance === STARTER));
      assert.equal(await ledger.exists('bob'), true);
      assert.equal(await ledger.exists('carol'), false);
      const s = await ledger.summary();
      assert.equal(s.minted, 2 * STARTER);
      assert.deepEqual(s.accounts, { [grantAccount('alice')]: STARTER, [grantAccount('bob')]: STARTER });
      assert.deepEqual(await ledger.totals(), { minted: 2 * STARTER, accounts: 2, fees: 0 });
      const mints = await ledger.entries(grantAccount('bob'));
      assert.equal(mints.length, 1);
      assert.equal(mints[0]!.kind, 'mint');
    }));

  it('hold(), settle() and refund() move exact amounts and keep the books balanced', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('client');
      await ledger.hold('job1', 'client', 10_000);
      assert.equal(await ledger.spendable('client'), STARTER - 10_000);
      assert.equal(await ledger.balance(escrowAccount('job1')), 10_000);

      const paid = await ledger.settle({ receiptId: 'job1:0:l1', jobId: 'job1', contributor: 'worker', amount: 2000, fee: 100 });
      assert.deepEqual(paid, { paid: true, contributorBalance: 2000 });
      await ledger.settle({ receiptId: 'job1:1:l2', jobId: 'job1', contributor: 'worker', amount: 3000, fee: 150 });
      // The escrow was held from grant credits, so the worker is paid in grant credits too.
      assert.equal(await ledger.balance(grantAccount('worker')), 5000);
      assert.equal(await ledger.balance(peerAccount('worker')), 0);
      assert.equal(await ledger.balance(FEES), 250);
      assert.equal(await ledger.balance(escrowAccount('job1')), 10_000 - 5250);

      assert.equal(await ledger.refund('job1', 'client'), 4750);
      assert.equal(await ledger.refund('job1', 'client'), 0);
      assert.equal(await ledger.balance(grantAccount('client')), STARTER - 5250);
      assert.equal(await ledger.balance(escrowAccount('job1')), 0);
      assert.equal(escrowAccount('job1') in (await ledger.summary()).accounts, false, 'a refunded escrow leaves no account');
      assert.deepEqual(await ledger.escrow('job1'), {
        jobId: 'job1', client: 'client', closed: true, held: 10_000, paid: 5000, fees: 250, settled: 2, refunded: 4750, grant: 0,
      });
      assert.equal(await ledger.escrow('nojob'), undefined);

      const escrowLog = await ledger.entries(escrowAccount('job1'));
      assert.deepEqual(escrowLog.map((e) => [e.kind, e.from, e.to, e.amount, e.ref]), [
        ['hold', 'grant:client', 'escrow:job1', 10_000, 'job1'],
        ['settle', 'escrow:job1', 'grant:worker', 2000, 'job1:0:l1'],
        ['settle', 'escrow:job1', 'fees', 100, 'job1:0:l1'],
        ['settle', 'escrow:job1', 'grant:worker', 3000, 'job1:1:l2'],
        ['settle', 'escrow:job1', 'fees', 150, 'job1:1:l2'],
        ['refund', 'escrow:job1', 'grant:client', 4750, 'job1'],
      ]);
      const seqs = escrowLog.map((e) => e.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      assert.equal(new Set(seqs).size, seqs.length);
      assert.ok(escrowLog.every((e) => Math.abs(e.at - Date.now()) < 60_000));
      assert.equal((await ledger.entries(escrowAccount('job1'), 2)).length, 2);
      assert.deepEqual((await ledger.entries(grantAccount('worker'))).map((e) => e.amount), [2000, 3000]);
      assert.deepEqual(await ledger.entries('mint'), []);
    }));

  it('settle() pays a replayed receipt once and stores its evidence', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      await ledger.hold('j', 'c', 1000);
      const s = { receiptId: 'r1', jobId: 'j', contributor: 'w', amount: 100, fee: 5, evidence: { sig: 'abc', shard: 0 } };
      assert.equal((await ledger.settle(s)).paid, true);
      assert.deepEqual(await ledger.settle(s), { paid: false, contributorBalance: 100 });
      assert.equal(await ledger.balance(escrowAccount('j')), 895);
      const stored = await ledger.receipt('r1');
      assert.deepEqual({ ...stored, at: 0 }, { receiptId: 'r1', jobId: 'j', contributor: 'w', amount: 100, fee: 5, at: 0, evidence: JSON.stringify(s.evidence) });
      await assert.rejects(ledger.settle({ ...s, amount: 200 }), isMeshError('conflict', /already paid on other terms.*amount 100/));
      await ledger.settle({ receiptId: 'r2', jobId: 'j', contributor: 'w', amount: 1, fee: 0 });
      assert.equal((await ledger.receipt('r2'))?.evidence, null);
    }));

  it('settle() lands 50 concurrent distinct receipts and pays 20 concurrent copies of one receipt once', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      await ledger.hold('j', 'c', 100_000);
      const distinct = await Promise.all(Array.from({ length: 50 }, (_, i) =>
        ledger.settle({ receiptId: `j:${i}`, jobId: 'j', contributor: `w${i % 5}`, amount: 1000, fee: 50 })));
      assert.ok(distinct.every((r) => r.paid));
      assert.equal(await ledger.balance(escrowAccount('j')), 100_000 - 50 * 1050);
      for (let w = 0; w < 5; w++) assert.equal(await ledger.spendable(`w${w}`), 10 * 1000);
      assert.equal(await ledger.balance(FEES), 50 * 50);

      const same = await Promise.all(Array.from({ length: 20 }, () =>
        ledger.settle({ receiptId: 'dup', jobId: 'j', contributor: 'w0', amount: 700, fee: 35 })));
      assert.equal(same.filter((r) => r.paid).length, 1);
      assert.equal(await ledger.spendable('w0'), 10 * 1000 + 700);
      assert.equal(await ledger.balance(escrowAccount('j')), 100_000 - 50 * 1050 - 735);
      assert.equal((await ledger.escrow('j'))?.settled, 51);
    }));

  it('ensureAccount() grants starter credits to at most perDay accounts per network, even under concurrency', () =>
    withLedger(async (ledger) => {
      const rule = { network: '198.51.100.0/24', perDay: 3 };
      const made = await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.ensureAccount(`s${i}`, rule)));
      assert.equal(made.filter((r) => r.created).length, 10);
      assert.equal(made.filter((r) => r.granted).length, 3);
      assert.equal(made.filter((r) => r.balance === STARTER).length, 3);
      // Another network still gets its own grants; a limit of 0 grants nothing.
      assert.equal((await ledger.ensureAccount('other', { network: '203.0.113.0/24', perDay: 3 })).granted, true);
      assert.equal((await ledger.ensureAccount('none', { network: '192.0.2.0/24', perDay: 0 })).granted, false);
      assert.deepEqual(await ledger.totals(), { minted: 4 * STARTER, accounts: 12, fees: 0 });
    }));

  it('grant credits stay grant credits: escrow funded by grants pays the contributor as grant, earned as earned', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      await ledger.ensureAccount('w');
      // w earns 800 grant credits from c's grant-funded job, then funds a job of its own partly from them.
      await ledger.hold('j1', 'c', 1000);
      await ledger.settle({ receiptId: 'r1', jobId: 'j1', contributor: 'w', amount: 800, fee: 40 });
      assert.equal(await ledger.balance(grantAccount('w')), STARTER + 800);
      assert.equal(await ledger.balance(peerAccount('w')), 0);
      assert.equal(await ledger.refund('j1', 'c'), 160);
      assert.equal(await ledger.balance(grantAccount('c')), STARTER - 840);
      assert.equal(await ledger.balance(peerAccount('c')), 0, 'a refund of grant-funded escrow returns grant credits');
      // Nothing ever moves grant credits into an earned account.
      const s = await ledger.summary();
      const earned = Object.entries(s.accounts).filter(([a]) => a.startsWith('peer:')).reduce((n, [, v]) => n + v, 0);
      assert.equal(earned, 0);
      await assertBalanced(ledger);
    }));
}
