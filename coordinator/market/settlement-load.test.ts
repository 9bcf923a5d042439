// Payments of one job under load, with the Market driven directly on a real ledger (no sockets). Found by
// bench/adversary: a client paying its receipts as outputs arrive, as the SDK does, sent a hundred concurrent
// settles of one job to the ledger; each checks the job's escrow key, so all but one conflicted and retried,
// about twenty commits per payment and a tenth of the throughput.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ContributorLease } from '../../src/protocol/coordinator.ts';
import { openLedger } from '../ledger/kv-ledger.ts';
import { createLogger } from '../log.ts';
import { Metrics } from '../metrics.ts';
import { eventually } from '../testing/coordinator.ts';
import { cpuCaps, hashOf, onnxJob } from '../testing/fixtures.ts';
import { DEFAULT_LIMITS } from './admission.ts';
import { TRUSTED } from './credibility.ts';
import { Market } from './market.ts';

const RUNS = 64;

describe('market: settlement under load', () => {
  it('writes concurrent receipts of one job one at a time, so none conflicts in the ledger', async () => {
    const ledger = await openLedger({ path: ':memory:', starterCredits: 1000 * 1e6 });
    const leases: ContributorLease[] = [];
    const market = new Market({
      ledger,
      notify: (_peer, f) => (f.type === 'assign' && leases.push(f.lease), true),
      feeRate: 0.05,
      leaseMs: 60_000,
      claimWindowMs: 60_000,
      replicaWaitMs: 1000,
      limits: { ...DEFAULT_LIMITS, minEscrow: 0 },
      log: createLogger('silent'),
      metrics: new Metrics(),
      trust: TRUSTED,
    });
    try {
      for (let i = 0; i < RUNS; i++) {
        await ledger.ensureAccount(`w${i}`, { network: `net-${i}`, perDay: Infinity });
        market.register(`w${i}`, { caps: cpuCaps(), askPrice: 1, maxConcurrent: 1 }, `net-${i}`);
      }
      await ledger.ensureAccount('client', { network: 'net-client', perDay: Infinity });
      const spec = onnxJob({ shards: RUNS, items: 1 });
      const { jobId } = await market.submit('client', spec, JSON.stringify(spec).length);
      await eventually('every shard assigned', () => leases.length === RUNS);
      const hash = (l: ContributorLease) => hashOf(`out-${l.shard}`);
      for (const l of leases) market.claim(l.contributor, { jobId, shard: l.shard, leaseId: l.leaseId, outputHash: hash(l) }, 'c2ln');
      const before = ledger.stats();
      const paid = await Promise.all(leases.map((l) =>
        market.receipt('client', { jobId, shard: l.shard, leaseId: l.leaseId, contributor: l.contributor, outputHash: hash(l), workUnits: 1000 }, 'c2ln')
      ));
      const after = ledger.stats();
      assert.equal(paid.filter((p) => p.paid).length, RUNS);
      assert.equal(after.commits - before.commits, RUNS, 'one commit per payment');
      assert.equal(after.conflicts - before.conflicts, 0, 'no payment conflicted with another of the same job');
      await eventually('the job ends', () => market.peek(jobId)?.state === 'done');
      const books = await ledger.summary();
      assert.equal(books.total, books.minted);
    } finally {
      await market.shutdown();
      ledger.close();
    }
  });
});
