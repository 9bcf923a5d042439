import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCoordinator, sleep } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { hashOf, onnxJob } from '../testing/fixtures.ts';
import { contributor } from '../testing/peers.ts';
import { ResultCache } from './result-cache.ts';

const NET = ['192.0.2.10', '198.51.100.10', '203.0.113.10'] as const;
const OUT = hashOf('the verified output');

/** Two contributors on two networks verify one shard (both claim OUT); resolves once the job is done. */
async function verifiedOnce(url: string) {
  const a = await contributor(url, { maxConcurrent: 1, from: NET[0] });
  const b = await contributor(url, { maxConcurrent: 1, from: NET[1] });
  const client = await MeshTestClient.connect(url, undefined, NET[2]);
  await client.submit(onnxJob({ shards: 1, verifyFraction: 1 }));
  const [la, lb] = [(await a.next('assign')).lease, (await b.next('assign')).lease];
  await client.next('assigned');
  await client.next('assigned');
  await a.claim(la, OUT);
  await b.claim(lb, OUT);
  assert.equal((await client.next('verdict')).state, 'verified');
  await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'first job done');
  return { a, b, client };
}

describe('market: exact-match result cache', () => {
  it('answers a repeated shard from a holder of its verified output, at the cache rate, books conserved', async () => {
    const c = await startTestCoordinator({ trustNewcomers: false, trustProxy: ['127.0.0.1'] });
    try {
      const { a, b, client } = await verifiedOnce(c.url);
      assert.equal(c.market.cache.size, 1);
      await client.submit(onnxJob({ shards: 1, verifyFraction: 1 }));
      const assigned = (await client.next('assigned')).lease;
      assert.equal(assigned.cached, OUT, 'the client learns the output to expect');
      assert.equal(assigned.replica, false);
      const holder = assigned.contributor === a.peerId ? a : b;
      const other = holder === a ? b : a;
      const lease = (await holder.next('assign')).lease;
      assert.equal(lease.cached, OUT);
      await holder.claim(lease, OUT);
      const paid = await client.pay(client.receiptFor(lease, OUT, 2000));
      assert.deepEqual(paid, { paid: true, amount: 200, fee: 10 }, 'a tenth of computing it (2000)');
      assert.deepEqual(await client.next('verdict').then((v) => [v.state, v.outputHash]), ['verified', OUT]);
      await sleep(30);
      assert.equal(other.inbox.frames.filter((f) => f.type === 'assign').length, 0, 'no replica for a cached answer');
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.all([a.close(), b.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('refuses a cached claim naming another output, forgets that holder and asks another holder', async () => {
    const c = await startTestCoordinator({ trustNewcomers: false, trustProxy: ['127.0.0.1'] });
    try {
      const { a, b, client } = await verifiedOnce(c.url);
      await client.submit(onnxJob({ shards: 1 }));
      const first = (await client.next('assigned')).lease;
      const holder = first.contributor === a.peerId ? a : b;
      const lease = (await holder.next('assign')).lease;
      await assert.rejects(holder.claim(lease, hashOf('garbage')), /the verified output is/);
      assert.equal((await client.next('released')).leaseId, lease.leaseId);
      const next = (await client.next('assigned')).lease;
      assert.equal(next.contributor, (holder === a ? b : a).peerId, 'the other holder answers next');
      assert.equal(next.cached, OUT);
      assert.deepEqual(c.market.cache.lookup([...c.market.cache.keys()][0]!)?.holders, [next.contributor], 'the liar is forgotten');
      await Promise.all([a.close(), b.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('a holder that no longer keeps the output declines unpaid, is forgotten, and the next holder answers', async () => {
    const c = await startTestCoordinator({ trustNewcomers: false, trustProxy: ['127.0.0.1'] });
    try {
      const { a, b, client } = await verifiedOnce(c.url);
      const before = await c.ledger.summary();
      await client.submit(onnxJob({ shards: 1 }));
      const first = (await client.next('assigned')).lease;
      const holder = first.contributor === a.peerId ? a : b;
      const other = holder === a ? b : a;
      const lease = (await holder.next('assign')).lease;
      assert.deepEqual(await holder.fail(lease, 'not-cached', 'evicted'), { released: true });
      const released = await client.next('released');
      assert.deepEqual([released.leaseId, released.failure], [lease.leaseId, 'not-cached']);
      const next = (await client.next('assigned')).lease;
      assert.deepEqual([next.contributor, next.cached], [other.peerId, OUT], 'the other holder answers');
      assert.deepEqual(c.market.cache.lookup([...c.market.cache.keys()][0]!)?.holders, [other.peerId]);
      const after = await c.ledger.summary();
      assert.equal(after.accounts[`peer:${holder.peerId}`], before.accounts[`peer:${holder.peerId}`], 'nothing paid for declining');
      // No streak, no bar: the decliner may still compute the shard at the full price when no holder is left.
      await other.fail(next, 'not-cached');
      const computed = (await client.next('assigned')).lease;
      assert.equal(computed.cached, undefined, 'with no holder left the shard is computed');
      assert.equal(c.market.cache.size, 0);
      await Promise.all([a.close(), b.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it("'not-cached' for a lease that is not a cached answer is refused and the lease stays", async () => {
    const c = await startTestCoordinator({ trustNewcomers: true });
    try {
      const a = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 1 }));
      const lease = (await a.next('assign')).lease;
      await assert.rejects(a.fail(lease, 'not-cached'), /not a lease to answer from the result cache/);
      assert.equal(c.market.holdsLease(lease.leaseId), true);
      await Promise.all([a.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it("'evicted' drops only its sender as holder of that output; malformed or oversized lists are refused", async () => {
    const c = await startTestCoordinator({ trustNewcomers: false, trustProxy: ['127.0.0.1'] });
    try {
      const { a, b, client } = await verifiedOnce(c.url);
      const key = [...c.market.cache.keys()][0]!;
      assert.deepEqual(await a.request({ type: 'evicted', outputs: [hashOf('never held')] }), { dropped: 0 });
      await assert.rejects(a.request({ type: 'evicted', outputs: ['../not-a-hash'] } as never), /outputs/);
      await assert.rejects(a.request({ type: 'evicted', outputs: [] } as never), /outputs/);
      await assert.rejects(a.request({ type: 'evicted', outputs: Array.from({ length: 257 }, () => OUT) } as never), /outputs/);
      assert.equal(c.market.cache.lookup(key)?.holders.length, 2, 'refused frames changed nothing');
      assert.deepEqual(await a.request({ type: 'evicted', outputs: [OUT] }), { dropped: 1 });
      assert.deepEqual(c.market.cache.lookup(key)?.holders, [b.peerId]);
      await client.submit(onnxJob({ shards: 1 }));
      assert.equal((await client.next('assigned')).lease.contributor, b.peerId, 'only the holder that kept it is asked');
      await Promise.all([a.close(), b.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('ResultCache.forgetHeld drops a holder from every key with that output, and its index stays bounded', () => {
    const cache = new ResultCache(4, 4);
    cache.record('k1', OUT, ['p1', 'p2']);
    cache.record('k2', OUT, ['p1']);
    cache.record('k3', hashOf('other'), ['p1']);
    assert.equal(cache.forgetHeld('p1', OUT), 2);
    assert.deepEqual(cache.lookup('k1')?.holders, ['p2']);
    assert.equal(cache.lookup('k2'), undefined, 'a key without holders goes');
    assert.deepEqual(cache.lookup('k3')?.holders, ['p1'], 'another output is untouched');
    assert.equal(cache.forgetHeld('p3', OUT), 0);
    for (let i = 0; i < 100; i++) cache.record(`x${i}`, hashOf(`o${i}`), ['p1']);
    assert.equal(cache.size, 4);
    assert.equal(cache.outputs, 4, 'outputs of dropped keys leave the index');
    cache.record('x99', hashOf('replaced'), ['p1']);
    assert.equal(cache.outputs, 4);
    assert.equal(cache.forgetHeld('p1', hashOf('o99')), 0, 'the replaced output no longer names the key');
  });

  it('ResultCache stays bounded in keys and holders', () => {
    const cache = new ResultCache(3, 2);
    for (let i = 0; i < 10; i++) cache.record(`k${i}`, OUT, ['p1', 'p2', 'p3']);
    assert.equal(cache.size, 3);
    assert.equal(cache.lookup('k0'), undefined);
    assert.deepEqual(cache.lookup('k9')?.holders, ['p2', 'p3']);
    cache.record('k9', hashOf('other'), ['p4']);
    assert.deepEqual(cache.lookup('k9'), { outputHash: hashOf('other'), holders: ['p4'] }, 'a new verified hash replaces the entry');
    cache.drop('k9', 'p4');
    assert.equal(cache.lookup('k9'), undefined);
  });
});
