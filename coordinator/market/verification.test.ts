import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '../../src/protocol/errors.ts';
import { shardMaxCost } from '../../src/core/cost.ts';
import { eventually, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';
import { TRUSTED_AGREEMENTS } from './credibility.ts';

const START = 1000 * 1e6;
/** Addresses of distinct /24 networks (TEST-NET ranges; only ever written into a header, never connected to). */
const NET = ['192.0.2.10', '198.51.100.10', '203.0.113.10', '192.0.2.200'] as const;
const strangers = { trustNewcomers: false, trustProxy: ['127.0.0.1'] };

describe('market: verification by evidence', () => {
  it('pays two agreeing runs of a verified shard without any receipt, and hides which run is the replica', async () => {
    const c = await startTestCoordinator({ ...strangers });
    try {
      const a = await contributor(c.url, { maxConcurrent: 1, from: NET[0] });
      const b = await contributor(c.url, { maxConcurrent: 1, from: NET[1] });
      const client = await MeshTestClient.connect(c.url, undefined, NET[2]);
      const { escrow } = await client.submit(onnxJob({ shards: 1, verifyFraction: 1 }));
      assert.equal(escrow, 3 * shardMaxCost(2000, 2, 0.05), 'every shard holds primary + replica + tie-breaker');
      const [la, lb] = [(await a.next('assign')).lease, (await b.next('assign')).lease];
      assert.equal('replica' in la || 'replica' in lb, false);
      const assigned = [(await client.next('assigned')).lease, (await client.next('assigned')).lease];
      assert.deepEqual(assigned.map((l) => l.replica).sort(), [false, true], 'the client (owner) knows which run verifies');
      await a.claim(la, outputHash(la));
      await b.claim(lb, outputHash(lb));
      const verdict = await client.next('verdict');
      assert.deepEqual([verdict.shard, verdict.state, verdict.outputHash], [0, 'verified', outputHash(la)]);
      await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      assert.equal(await c.ledger.spendable(a.peerId), START + 2000);
      assert.equal(await c.ledger.spendable(b.peerId), START + 2000);
      assert.equal(c.market.credibility.get(a.peerId).agreements, 1, 'bootstrap: agreement counts while nobody is credible');
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.all([a.close(), b.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('breaks a disagreement with a tie-breaker on a third network; the outvoted run is never paid', async () => {
    const c = await startTestCoordinator({ ...strangers });
    try {
      const a = await contributor(c.url, { maxConcurrent: 1, from: NET[0] });
      const b = await contributor(c.url, { maxConcurrent: 1, from: NET[1] });
      const client = await MeshTestClient.connect(c.url, undefined, NET[3]);
      const { escrow } = await client.submit(onnxJob({ shards: 1, verifyFraction: 1 }));
      const [la, lb] = [(await a.next('assign')).lease, (await b.next('assign')).lease];
      await a.claim(la, outputHash(la));
      await b.claim(lb, outputHash(lb, 'garbage'));
      // No dispute needed: the coordinator sees the hashes differ and adds a tie-breaker itself.
      const tieBreaker = await contributor(c.url, { maxConcurrent: 1, from: NET[2] });
      const lc = (await tieBreaker.next('assign')).lease;
      assert.equal(lc.shard, 0);
      await tieBreaker.claim(lc, outputHash(lc));
      assert.equal((await b.next('revoke')).reason, 'rejected: outvoted');
      const done = await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      assert.equal(done.type === 'job' && done.status.refunded, escrow - 2 * 2100);
      assert.equal(await c.ledger.spendable(b.peerId), START, 'the loser is never credited');
      assert.equal(await c.ledger.spendable(a.peerId), START + 2000);
      assert.equal(c.market.credibility.get(b.peerId).failures, 1);
      // A client receipt for the outvoted run is refused: evidence beats the client's word both ways.
      const late = await client.pay(client.receiptFor(lb, outputHash(lb, 'garbage'), 2000)).catch((e) => e as MeshError);
      assert.ok(['conflict', 'not-found'].includes((late as MeshError).code));
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.all([a.close(), b.close(), tieBreaker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('replicates a newcomer\'s results and, once it is credible, only some of them', async () => {
    const c = await startTestCoordinator({ ...strangers, random: () => 0.5 });
    try {
      const fresh = await contributor(c.url, { maxConcurrent: 1, from: NET[0] });
      const other = await contributor(c.url, { maxConcurrent: 1, from: NET[1] });
      const client = await MeshTestClient.connect(c.url, undefined, NET[2]);
      // verifyFraction 0: only the coordinator's own policy replicates.
      const { jobId } = await client.submit(onnxJob({ shards: 1, verifyFraction: 0 }));
      await fresh.next('assign');
      await other.next('assign');
      const detail = await client.request<{ shards: { verified: boolean; runs: { role: string }[] }[] }>({ type: 'job', jobId, detail: true });
      assert.equal(detail.shards[0]!.verified, true);
      assert.deepEqual(detail.shards[0]!.runs.map((r) => r.role).sort(), ['primary', 'replica']);
      await client.request({ type: 'cancel', jobId });

      // A record of many agreements makes replication rare (probability TRUSTED_AGREEMENTS / agreements).
      for (let i = 0; i < 40; i++) c.market.credibility.agreed([fresh.peerId, other.peerId]);
      assert.ok(c.market.credibility.credible(fresh.peerId));
      assert.ok(c.market.credibility.replicationProbability(fresh.peerId) <= TRUSTED_AGREEMENTS / 40);
      const second = await client.submit(onnxJob({ shards: 1, verifyFraction: 0 }));
      await eventually('an assignment', () => fresh.inbox.frames.some((f) => f.type === 'assign') || other.inbox.frames.some((f) => f.type === 'assign'));
      const view = await client.request<{ shards: { verified: boolean; runs: unknown[] }[] }>({ type: 'job', jobId: second.jobId, detail: true });
      assert.deepEqual([view.shards[0]!.verified, view.shards[0]!.runs.length], [false, 1]);
      await Promise.all([fresh.close(), other.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('never lets two identities on one network verify each other, however cheap and fast they claim to be', async () => {
    const c = await startTestCoordinator({ ...strangers });
    try {
      const sybilCaps = { cpu: { cores: 64, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: ['wasm' as const], gflops: { cpu: 1e9 } };
      const s1 = await contributor(c.url, { askPrice: 0, maxConcurrent: 1, caps: sybilCaps, from: '203.0.113.5' });
      const s2 = await contributor(c.url, { askPrice: 0, maxConcurrent: 1, caps: sybilCaps, from: '203.0.113.6' });
      const honest = await contributor(c.url, { askPrice: 2, maxConcurrent: 4, from: NET[1] });
      const client = await MeshTestClient.connect(c.url, undefined, NET[0]);
      const { jobId } = await client.submit(onnxJob({ shards: 2, verifyFraction: 1 }));
      await eventually('every shard has its two runs', async () => {
        const d = await client.request<{ shards: { runs: unknown[] }[] }>({ type: 'job', jobId, detail: true });
        return d.shards.every((s) => s.runs.length >= 2) ? d : undefined;
      });
      const detail = await client.request<{ shards: { runs: { contributor: string }[] }[] }>({ type: 'job', jobId, detail: true });
      for (const s of detail.shards) {
        const who = s.runs.map((r) => r.contributor);
        assert.ok(!(who.includes(s1.peerId) && who.includes(s2.peerId)), `a shard ran on both sybils: ${who}`);
        assert.ok(who.includes(honest.peerId), 'every shard is verified by the other network');
      }
      await Promise.all([s1.close(), s2.close(), honest.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('waives verification when no contributor on another network is eligible, and says so', async () => {
    const c = await startTestCoordinator({ ...strangers, replicaWaitMs: 200 });
    try {
      const only = await contributor(c.url, { maxConcurrent: 1, from: NET[0] });
      const client = await MeshTestClient.connect(c.url, undefined, NET[1]);
      await client.submit(onnxJob({ shards: 1, verifyFraction: 1 }));
      const { lease } = await only.next('assign');
      const waived = await client.next('verdict', 3000);
      assert.deepEqual([waived.state, waived.outputHash], ['unverified', undefined]);
      await only.claim(lease, outputHash(lease));
      await client.pay(client.receiptFor(lease, outputHash(lease), 2000));
      await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      await Promise.all([only.close(), client.close()]);
    } finally {
      await c.close();
    }
  });
});
