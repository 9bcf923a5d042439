import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCoordinator, sleep } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';
import { escrowFor, FEE_RATE } from '../../src/core/cost.ts';

/** Both sides report their round trip (what the SDK's peer links do after connecting). */
async function measured(client: MeshTestClient, peer: MeshTestClient, ms: number, peerSays = ms): Promise<void> {
  await client.request({ type: 'rtt', peer: peer.peerId, ms });
  await peer.request({ type: 'rtt', peer: client.peerId, ms: peerSays });
}

describe('market: latency-aware matching', () => {
  it('places a 20 ms budget job only on contributors within it, at the tight tier price (3x), escrow covering it', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const near = await contributor(c.url, { maxConcurrent: 1 });
      const far = await contributor(c.url, { maxConcurrent: 4 });
      await measured(client, near, 5);
      await measured(client, far, 200);
      const job = { ...onnxJob({ shards: 2 }), latencyMs: 20 };
      const sub = await client.submit(job);
      assert.equal(sub.escrow, escrowFor({ shards: job.shards, bid: job.bid * 3, feeRate: FEE_RATE }));
      const lease = (await near.next('assign')).lease;
      assert.equal(lease.price, 3, 'ask 1 times the tight multiplier');
      await sleep(50);
      assert.equal(far.inbox.frames.filter((f) => f.type === 'assign').length, 0, 'the 200 ms contributor gets nothing');
      await near.claim(lease, outputHash(lease));
      const paid = await client.pay(client.receiptFor(lease, outputHash(lease), 2000));
      assert.deepEqual(paid, { paid: true, amount: 6000, fee: 300 });
      await Promise.all([client.close(), near.close(), far.close()]);
    } finally {
      await c.close();
    }
  });

  it('prefers the closer contributor when the job has no budget', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const far = await contributor(c.url);
      const near = await contributor(c.url);
      await measured(client, far, 200);
      await measured(client, near, 5);
      await client.submit(onnxJob({ shards: 1 }));
      const lease = (await near.next('assign')).lease;
      assert.equal(lease.price, 1, 'no budget, no premium');
      assert.equal(far.inbox.frames.filter((f) => f.type === 'assign').length, 0);
      await Promise.all([client.close(), near.close(), far.close()]);
    } finally {
      await c.close();
    }
  });

  it('a contributor claiming to be close is held to the client\'s own measurement', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const liar = await contributor(c.url);
      await measured(client, liar, 200, 1);
      await client.submit({ ...onnxJob({ shards: 1 }), latencyMs: 20 });
      await sleep(80);
      assert.equal(liar.inbox.frames.filter((f) => f.type === 'assign').length, 0);
      await Promise.all([client.close(), liar.close()]);
    } finally {
      await c.close();
    }
  });

  it('refuses forged, huge, self and unknown-peer round trips, and a one-sided report changes nothing', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const other = await contributor(c.url);
      const bad = (body: Record<string, unknown>) => client.request({ type: 'rtt', ...body } as never);
      await assert.rejects(bad({ peer: 'not-a-keyed-id', ms: 1 }), /invalid|peer/i);
      await assert.rejects(bad({ peer: other.peerId, ms: 1e12 }), /ms/);
      await assert.rejects(bad({ peer: other.peerId, ms: -5 }), /ms/);
      await assert.rejects(bad({ peer: other.peerId, ms: 1, extra: 'x' }), /extra|invalid/i);
      await assert.rejects(bad({ peer: client.peerId, ms: 1 }), /reporter itself/);
      await assert.rejects(bad({ peer: 'mw' + 'f'.repeat(40), ms: 1 }), /has no session here/);
      // The client alone says the contributor is 500 ms away: nothing is confirmed, the contributor still works.
      await client.request({ type: 'rtt', peer: other.peerId, ms: 500 });
      await client.submit({ ...onnxJob({ shards: 1 }), latencyMs: 20 });
      await other.next('assign');
      await Promise.all([client.close(), other.close()]);
    } finally {
      await c.close();
    }
  });

  it('rejects a job whose latency budget is out of range', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      await assert.rejects(client.submit({ ...onnxJob({ shards: 1 }), latencyMs: 0 }), /latencyMs/);
      await assert.rejects(client.submit({ ...onnxJob({ shards: 1 }), latencyMs: 1e9 }), /latencyMs/);
      await client.close();
    } finally {
      await c.close();
    }
  });
});
