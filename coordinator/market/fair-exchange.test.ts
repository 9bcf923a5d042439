// Freeloading clients and hoarding contributors (issue: strangers can't freeload). Each case below worked
// against the market of 92656e7: a client that got its outputs and then cancelled, disconnected, waited out
// the deadline or claimed the transfer failed paid nothing; a contributor that claimed every assignment at
// once with a made-up hash held 56 of 60 shards.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import { eventually, sleep, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';

const START = 1000 * 1e6;
const RUN = 2000; // one shard of onnxJob(): 2000 work units at ask 1

describe('market: fair exchange', () => {
  for (const end of ['cancel', 'disconnect', 'deadline'] as const) {
    it(`pays a claimed run at its claim hash when the client ends the job by ${end}`, async () => {
      const c = await startTestCoordinator();
      try {
        const worker = await contributor(c.url, { maxConcurrent: 1 });
        const client = await MeshTestClient.connect(c.url);
        const { jobId, escrow } = await client.submit(onnxJob({ shards: 2, deadlineMs: 1000 }));
        const { lease } = await worker.next('assign');
        await worker.claim(lease, outputHash(lease)); // outputs delivered peer to peer; no receipt follows
        if (end === 'cancel') await client.request({ type: 'cancel', jobId });
        if (end === 'disconnect') await client.close();
        const credited = await worker.next('credited', 3000);
        assert.deepEqual([credited.leaseId, credited.amount], [lease.leaseId, RUN]);
        await eventually('the job ends', () => c.market.peek(jobId)?.state !== 'running' && c.market.peek(jobId)!.refunded > 0);
        const status = c.market.peek(jobId)!;
        assert.equal(status.state, end === 'deadline' ? 'expired' : 'cancelled');
        assert.equal(status.refunded, escrow - RUN - 100);
        assert.equal(await c.ledger.spendable(worker.peerId), START + RUN);
        assert.equal(await c.ledger.spendable(client.peerId), START - RUN - 100);
        const books = await c.ledger.summary();
        assert.equal(books.total, books.minted);
        await Promise.all([worker.close(), end === 'disconnect' ? undefined : client.close()]);
      } finally {
        await c.close();
      }
    });
  }

  it('sends a contested run to arbitration elsewhere: the same hash pays it, another leaves it unpaid', async () => {
    const c = await startTestCoordinator();
    try {
      const first = await contributor(c.url, { maxConcurrent: 2 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 2 }));
      const [a, b] = [(await first.next('assign')).lease, (await first.next('assign')).lease];
      await first.claim(a, outputHash(a));
      await first.claim(b, outputHash(b, 'garbage'));
      // The client says both transfers failed. Its word alone moves no money: both runs await arbitration.
      for (const l of [a, b]) {
        const answer = await client.request({ type: 'reject', jobId, shard: l.shard, leaseId: l.leaseId, reason: 'transfer-failed' });
        assert.deepEqual(answer, { released: true, contested: true });
      }
      assert.equal(c.market.credibility.get(first.peerId).failures, 0, 'a complaint is not evidence');
      const arbiter = await contributor(c.url, { maxConcurrent: 2 });
      const runs = [(await arbiter.next('assign')).lease, (await arbiter.next('assign')).lease];
      assert.deepEqual(runs.map((l) => l.shard).sort(), [0, 1]);
      await sleep(50);
      assert.equal(first.inbox.frames.filter((f) => f.type === 'assign').length, 0, 'the shard never goes back to the contested contributor');
      for (const l of runs) await arbiter.claim(l, outputHash(l)); // the honest output of each shard
      // Shard of `a`: the arbiter agrees, so the complaint was false and `a` is paid (without any receipt).
      const paid = await first.next('credited', 3000);
      assert.equal(paid.leaseId, a.leaseId);
      // Shard of `b`: the arbiter disagrees: `b` is rejected, on the complaint confirmed by an independent run.
      assert.equal((await first.next('revoke')).reason, 'rejected: arbitration');
      const bRun = (await client.request<{ shards: { runs: { leaseId: string; state: string }[] }[] }>({ type: 'job', jobId, detail: true }))
        .shards[b.shard]!.runs.find((r) => r.leaseId === b.leaseId);
      assert.equal(bRun?.state, 'rejected');
      await client.pay(client.receiptFor(runs.find((l) => l.shard === b.shard)!, outputHash(runs.find((l) => l.shard === b.shard)!), RUN));
      await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      assert.equal(await c.ledger.spendable(first.peerId), START + RUN, 'paid for the shard it computed right, not for the other');
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.all([first.close(), arbiter.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('keeps a hoarder that claims at once with made-up hashes to a few shards, unpaid and then quarantined', async () => {
    const c = await startTestCoordinator({ trustNewcomers: false, trustProxy: ['127.0.0.1'], replicaWaitMs: 100, claimWindowMs: 60_000 });
    try {
      const hoarder = await contributor(c.url, { maxConcurrent: 64, from: '203.0.113.9' });
      const honest = await Promise.all(['192.0.2.1', '198.51.100.1', '192.0.2.130'].map((from) => contributor(c.url, { maxConcurrent: 4, from })));
      const client = await MeshTestClient.connect(c.url, undefined, '198.51.100.200');
      const { jobId } = await client.submit(onnxJob({ shards: 60, items: 1 }));
      let hoarded = 0;
      let maxHeld = 0;
      const pumps: Promise<void>[] = [];
      const stop = { done: false };
      // The hoarder claims every assignment at once with garbage and never delivers; the client complains.
      pumps.push((async () => {
        while (!stop.done) {
          const f = await hoarder.next('assign', 200).catch(() => undefined);
          if (!f) continue;
          hoarded++;
          maxHeld = Math.max(maxHeld, c.market.registry.get(hoarder.peerId)?.load.size ?? 0);
          await hoarder.claim(f.lease, outputHash(f.lease, `junk-${hoarded}`)).catch(() => {});
          await client.request({ type: 'reject', jobId, shard: f.lease.shard, leaseId: f.lease.leaseId, reason: 'transfer-failed' }).catch(() => {});
        }
      })());
      // Honest contributors claim the right hash; the client pays what it received.
      for (const peer of honest) {
        pumps.push((async () => {
          while (!stop.done) {
            const f = await peer.next('assign', 200).catch(() => undefined);
            if (!f) continue;
            await peer.claim(f.lease, outputHash(f.lease)).catch(() => {});
            await client.pay(client.receiptFor(f.lease, outputHash(f.lease), 1000)).catch(() => {});
          }
        })());
      }
      const done = await client.inbox.next((f: ServerFrame) => f.type === 'job' && f.status.state !== 'running', 'job end', 30_000);
      stop.done = true;
      assert.equal(done.type === 'job' && done.status.state, 'done');
      assert.ok(hoarded <= 10, `the hoarder got ${hoarded} of 60 shards`);
      assert.ok(maxHeld <= 2, `the hoarder held ${maxHeld} leases at once`);
      assert.equal(await c.ledger.spendable(hoarder.peerId), START, 'garbage claims earn nothing');
      assert.ok(c.market.credibility.quarantined(hoarder.peerId) || c.market.credibility.get(hoarder.peerId).failures >= 1);
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.allSettled(pumps);
      await Promise.all([hoarder, ...honest, client].map((p) => p.close()));
    } finally {
      await c.close();
    }
  });
});

