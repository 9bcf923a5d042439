import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../src/protocol/errors.ts';
import { MAX_EVIDENCE_CHARS } from './_checks.ts';
import { escrowAccount, FEES, grantAccount, type KvLedger, openLedger, peerAccount } from './kv-ledger.ts';
import { rng } from '../../src/core/testing/prng.ts';

const STARTER = 1_000_000;

async function withLedger(fn: (ledger: KvLedger) => Promise<void>, starterCredits = STARTER): Promise<void> {
  const ledger = await openLedger({ path: ':memory:', starterCredits });
  try {
    await fn(ledger);
  } finally {
    ledger.close();
  }
}

function isMeshError(code: string, message?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof MeshError, `expected MeshError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

async function assertBalanced(ledger: KvLedger): Promise<void> {
  const s = await ledger.summary();
  assert.equal(s.total, s.minted, `sum of balances ${s.total} != minted ${s.minted}`);
}

describe('KvLedger', () => {
  it('ensureAccount() mints the starter credits once per account, even under concurrent calls', () =>
    withLedger(async (ledger) => {
      assert.deepEqual(await ledger.ensureAccount('alice'), { created: true, balance: STARTER, granted: true });
      assert.deepEqual(await ledger.ensureAccount('alice'), { created: false, balance: STARTER, granted: false });
      const results = await Promise.all(Array.from({ length: 20 }, () => ledger.ensureAccount('bob')));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.ok(results.every((r) => r.balance === STARTER));
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
      assert.deepEqual(await ledger.escrow('job1'), {
        jobId: 'job1', client: 'client', closed: true, held: 10_000, paid: 5000, fees: 250, settled: 2, refunded: 4750, grant: 0,
      });
      await assertBalanced(ledger);

      const escrowLog = await ledger.entries(escrowAccount('job1'));
      assert.deepEqual(escrowLog.map((e) => [e.kind, e.from, e.to, e.amount]), [
        ['hold', 'grant:client', 'escrow:job1', 10_000],
        ['settle', 'escrow:job1', 'grant:worker', 2000],
        ['settle', 'escrow:job1', 'fees', 100],
        ['settle', 'escrow:job1', 'grant:worker', 3000],
        ['settle', 'escrow:job1', 'fees', 150],
        ['refund', 'escrow:job1', 'grant:client', 4750],
      ]);
      const seqs = escrowLog.map((e) => e.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      assert.equal(new Set(seqs).size, seqs.length);
      assert.equal((await ledger.entries(escrowAccount('job1'), 2)).length, 2);
      assert.deepEqual((await ledger.entries(grantAccount('worker'))).map((e) => e.amount), [2000, 3000]);
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
      assert.equal(stored?.evidence, JSON.stringify(s.evidence));
      await assert.rejects(ledger.settle({ ...s, amount: 200 }), isMeshError('conflict', /already paid on other terms.*amount 100/));
      await assertBalanced(ledger);
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
      await assertBalanced(ledger);
    }));

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
    }));

  it('hold() never spends the same credits twice under concurrent holds', () =>
    withLedger(async (ledger) => {
      await ledger.ensureAccount('c');
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => ledger.hold(`j${i}`, 'c', 300_000)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 3);
      for (const o of outcomes) if (o.status === 'rejected') isMeshError('insufficient-funds')(o.reason);
      assert.equal(await ledger.spendable('c'), STARTER - 900_000);
      await assertBalanced(ledger);
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
      await assertBalanced(ledger);
    }));

  it('keeps sum(balances) === minted through a randomized sequence with failures', () =>
    withLedger(async (ledger) => {
      const next = rng(7);
      const peers = ['p0', 'p1', 'p2', 'p3', 'p4'];
      const jobs: { jobId: string; client: string }[] = [];
      const open = new Set<number>();
      let receipts = 0;
      const ok = { mint: 0, hold: 0, settle: 0, refund: 0 };
      let failures = 0;
      const pickJob = (): number => {
        const live = [...open];
        return live.length > 0 && next(5) > 0 ? live[next(live.length)]! : next(Math.max(1, jobs.length));
      };
      for (let step = 0; step < 300; step++) {
        const batch: Promise<unknown>[] = [];
        for (let k = 0; k < 6; k++) {
          const peer = peers[next(peers.length)]!;
          const op = next(6);
          let kind: keyof typeof ok;
          let p: Promise<unknown>;
          if (op === 0 || (op >= 3 && jobs.length === 0)) {
            kind = 'mint';
            p = ledger.ensureAccount(peer);
          } else if (op === 1 || op === 2) {
            kind = 'hold';
            if (jobs.length === 0 || next(3) === 0) {
              jobs.push({ jobId: `job${jobs.length}`, client: peer });
              open.add(jobs.length - 1);
            }
            const job = jobs[pickJob()]!;
            p = ledger.hold(job.jobId, next(10) === 0 ? peer : job.client, next(4) === 0 ? STARTER * 2 : next(200_000));
          } else if (op === 3 || op === 4) {
            kind = 'settle';
            const job = jobs[pickJob()]!;
            const receiptId = next(4) === 0 ? `r${next(Math.max(1, receipts))}` : `r${receipts++}`;
            p = ledger.settle({ receiptId, jobId: job.jobId, contributor: peer, amount: next(50_000), fee: next(2_500) });
          } else {
            kind = 'refund';
            const index = pickJob();
            const job = jobs[index]!;
            if (next(8) > 0) open.delete(index);
            p = ledger.refund(job.jobId, next(10) === 0 ? peer : job.client);
          }
          batch.push(p.then(() => ok[kind]++, (err) => {
            assert.ok(err instanceof MeshError, String(err));
            failures++;
          }));
        }
        await Promise.all(batch);
        if (step % 50 === 0) await assertBalanced(ledger);
      }
      await assertBalanced(ledger);
      const s = await ledger.summary();
      // The sequence must really exercise every operation and its failures, or the invariant proves little.
      for (const [kind, n] of Object.entries(ok)) assert.ok(n >= 20, `only ${n} successful ${kind} operations`);
      assert.ok(failures >= 20, `only ${failures} failures`);
      assert.ok(Object.values(s.accounts).every((v) => Number.isSafeInteger(v) && v >= 0));
    }));

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
      } finally {
        second.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

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
      await assert.rejects(openLedger({ path: ':memory:', starterCredits: -1 }), /'starterCredits'.*current value is -1/);
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
      await assertBalanced(ledger);
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
});
