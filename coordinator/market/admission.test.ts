// Jobs that cost the coordinator without costing the client (issue: strangers can't knock it over). Against
// 92656e7: `bid: 0` held no escrow; 30 zero-bid 10k-shard jobs took +600 MB and were kept after cancel; a
// submit replayed with a re-encoded signature was a new job; anyone could read any job; a reject without
// evidence halved a contributor's reputation; a failed refund left escrow open until a restart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../src/protocol/errors.ts';
import { signedText } from '../../src/protocol/coordinator.ts';
import { openLedger } from '../ledger/mod.ts';
import type { Ledger } from '../ledger/types.ts';
import { eventually, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';
import { DEFAULT_LIMITS } from './admission.ts';

const START = 1000 * 1e6;

async function refused(p: Promise<unknown>): Promise<MeshError> {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof MeshError, `expected a MeshError, got ${String(err)}`);
  return err;
}

describe('market: admission', () => {
  it('refuses free jobs: a zero bid, and an escrow below the minimum', async () => {
    const c = await startTestCoordinator({ minEscrow: DEFAULT_LIMITS.minEscrow });
    try {
      const client = await MeshTestClient.connect(c.url);
      const zero = await refused(client.submit(onnxJob({ shards: 10_000, items: 1, bid: 0 })));
      assert.equal(zero.code, 'invalid-message');
      assert.match(zero.message, /'job.bid' must be at least 1/);
      const small = onnxJob({ shards: 1, items: 1, bid: 1 });
      small.shards[0]!.workUnits = 1; // escrow 3 runs x (1 + fee 0) = 3
      const tiny = await refused(client.submit(small));
      assert.equal(tiny.code, 'insufficient-funds');
      assert.match(tiny.message, new RegExp(`escrow must be at least ${DEFAULT_LIMITS.minEscrow}`));
      assert.equal(c.market.runningJobs, 0);
      assert.equal(await c.ledger.spendable(client.peerId), START);
      await client.close();
    } finally {
      await c.close();
    }
  });

  it('caps what one client can have running, and keeps only a summary of a cancelled job', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const ids: string[] = [];
      // 10,000-shard jobs at bid 1: the per-client shard cap (20,000) admits two.
      for (let i = 0; i < 2; i++) ids.push((await client.submit(onnxJob({ shards: 10_000, items: 1, bid: 1 }))).jobId);
      const third = await refused(client.submit(onnxJob({ shards: 10_000, items: 1, bid: 1 })));
      assert.equal(third.code, 'rate-limited');
      assert.match(third.message, /may run 20000 shards at once/);
      for (const jobId of ids) await client.request({ type: 'cancel', jobId });
      for (const jobId of ids) {
        assert.equal(c.market.job(jobId), undefined, 'a finished job keeps no shards');
        assert.equal(c.market.peek(jobId)?.state, 'cancelled');
      }
      // With the shards gone the client may run again; small jobs count against the job cap instead.
      for (let i = 0; i < DEFAULT_LIMITS.maxJobsPerClient; i++) await client.submit(onnxJob({ shards: 1, items: 1, bid: 1 }));
      assert.equal((await refused(client.submit(onnxJob({ shards: 1, items: 1, bid: 1 })))).code, 'rate-limited');
      await client.close();
    } finally {
      await c.close();
    }
  });

  it('refuses a replayed submit, re-encoded signature or not, also after the job finished', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const job = onnxJob({ shards: 1 });
      const signature = await client.identity.sign(signedText('job', job));
      const first = await client.request<{ jobId: string }>({ type: 'submit', job, signature });
      const again = await refused(client.request({ type: 'submit', job, signature }));
      assert.equal(again.code, 'conflict');
      // The same signature bytes with other unused trailing bits: not a new job.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const twin = signature.slice(0, -1) + alphabet[alphabet.indexOf(signature.at(-1)!) ^ 1];
      assert.notEqual(twin, signature);
      assert.ok(['conflict', 'unauthorized'].includes((await refused(client.request({ type: 'submit', job, signature: twin }))).code));
      await client.request({ type: 'cancel', jobId: first.jobId });
      assert.equal((await refused(client.request({ type: 'submit', job, signature }))).code, 'conflict', 'the ledger remembers the escrow');
      assert.equal(c.market.runningJobs, 0);
      await client.close();
    } finally {
      await c.close();
    }
  });

  it('shows a job only to its owner, and a complaint without evidence costs the contributor nothing', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      const nosy = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 1 }));
      const { lease } = await worker.next('assign');
      assert.equal((await refused(nosy.request({ type: 'job', jobId }))).code, 'unauthorized');
      assert.equal((await refused(nosy.request({ type: 'job', jobId, detail: true }))).code, 'unauthorized');
      assert.equal((await refused(nosy.request({ type: 'cancel', jobId }))).code, 'unauthorized');
      const before = c.market.credibility.get(worker.peerId);
      await client.request({ type: 'reject', jobId, shard: 0, leaseId: lease.leaseId, reason: 'bad-output' });
      assert.deepEqual(c.market.credibility.get(worker.peerId), before, 'the client\'s word alone changes no record');
      await Promise.all([worker.close(), client.close(), nosy.close()]);
    } finally {
      await c.close();
    }
  });

  it('retries a refund that failed until the escrow is closed', async () => {
    const real = await openLedger({ path: ':memory:', starterCredits: START });
    let failures = 5; // more than one payout attempt series: the sweep must finish it
    // Fault injection: the ledger's refund fails five times (as a full disk or a conflict storm would).
    const flaky = new Proxy(real, {
      get(target, key) {
        if (key === 'refund') {
          return (jobId: string, client: string) => failures-- > 0 ? Promise.reject(new MeshError('conflict', 'injected failure')) : target.refund(jobId, client);
        }
        const value = Reflect.get(target, key);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Ledger;
    const c = await startTestCoordinator({ ledger: flaky });
    try {
      const worker = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 1 }));
      const { lease } = await worker.next('assign');
      await worker.claim(lease, outputHash(lease));
      await client.request({ type: 'cancel', jobId });
      await eventually('the escrow is refunded', async () => (await real.escrow(jobId))?.closed, 30_000);
      assert.equal(await real.balance(`escrow:${jobId}`), 0);
      assert.equal(await real.spendable(client.peerId), START - 2100);
      await Promise.all([worker.close(), client.close()]);
    } finally {
      await c.close();
      real.close();
    }
  });
});
