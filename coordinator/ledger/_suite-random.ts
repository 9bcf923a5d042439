/** Suite test of the invariant under a seeded random mix of concurrent operations, failures included. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../src/protocol/errors.ts';
import { rng } from '../../src/core/testing/prng.ts';
import { assertBalanced, STARTER, type SuiteContext } from './_suite-helpers.ts';

/** Registers the randomized invariant test. */
export function randomTests({ withLedger }: SuiteContext): void {
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
      // The sequence must really exercise every operation and its failures, or the invariant proves little.
      for (const [kind, n] of Object.entries(ok)) assert.ok(n >= 20, `only ${n} successful ${kind} operations`);
      assert.ok(failures >= 20, `only ${failures} failures`);
    }));
}
