import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openLedger } from '../ledger/mod.ts';
import { eventually, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { cpuCaps, onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';

const START = 1000 * 1e6;

describe('market: jobs across restarts', () => {
  it('resumes a running job after a restart: leases and claims survive, the job completes, paid once', async () => {
    const data = await Deno.makeTempDir({ prefix: 'meshwork-data-' });
    try {
      const first = await startTestCoordinator({ data, clientGraceMs: 10_000 });
      const worker = await contributor(first.url, { maxConcurrent: 2 });
      const client = await MeshTestClient.connect(first.url);
      const { jobId, escrow } = await client.submit(onnxJob({ shards: 3 }));
      const [a, b] = [(await worker.next('assign')).lease, (await worker.next('assign')).lease];
      await worker.claim(a, outputHash(a));
      await client.pay(client.receiptFor(a, outputHash(a), 2000));
      await worker.claim(b, outputHash(b)); // claimed, not yet paid when the coordinator goes down
      const third = (await worker.next('assign')).lease; // leased when `a` was paid: in flight at the restart
      await first.close();
      await Promise.all([worker.inbox.closed, client.inbox.closed]);

      const again = await startTestCoordinator({ data, port: first.port });
      try {
        assert.equal(again.market.peek(jobId)?.state, 'running', 'the job came back, not refunded');
        assert.equal(again.market.peek(jobId)?.settled, 1);
        // The same identities reconnect and the contributor registers again, as the SDK does after a restart.
        const w = await MeshTestClient.connect(again.url, worker.identity);
        await w.request({ type: 'register', caps: cpuCaps(), askPrice: 1, maxConcurrent: 2 });
        const c = await MeshTestClient.connect(again.url, client.identity);
        // The claim made before the restart is still payable, and the lease in flight can still be claimed.
        assert.equal((await c.pay(c.receiptFor(b, outputHash(b), 2000))).paid, true);
        assert.equal(third.shard, 3 - a.shard - b.shard);
        await w.claim(third, outputHash(third));
        await c.pay(c.receiptFor(third, outputHash(third), 2000));
        await c.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
        const status = again.market.peek(jobId)!;
        assert.deepEqual([status.settled, status.spent, status.refunded], [3, 6000, escrow - 6300]);
        assert.equal(await again.ledger.spendable(client.peerId), START - 6300);
        const books = await again.ledger.summary();
        assert.equal(books.total, books.minted);
        await Promise.all([w.close(), c.close()]);
      } finally {
        await again.close();
      }
    } finally {
      await Deno.remove(data, { recursive: true });
    }
  });

  it('cancels a resumed job whose client does not come back, paying its claimed run', async () => {
    const data = await Deno.makeTempDir({ prefix: 'meshwork-data-' });
    try {
      const first = await startTestCoordinator({ data });
      const worker = await contributor(first.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(first.url);
      const { jobId } = await client.submit(onnxJob({ shards: 2 }));
      const { lease } = await worker.next('assign');
      await worker.claim(lease, outputHash(lease));
      await first.close();
      const again = await startTestCoordinator({ data, port: first.port });
      try {
        // Nobody reconnects: when the grace is over the job is cancelled; the claimed run is paid, the rest refunded.
        await again.market.cancelClientless();
        await eventually('the job ends', () => again.market.peek(jobId)?.state === 'cancelled' && again.market.peek(jobId)!.refunded > 0);
        assert.equal(await again.ledger.spendable(worker.peerId), START + 2000);
        assert.equal(await again.ledger.spendable(client.peerId), START - 2100);
        const books = await again.ledger.summary();
        assert.equal(books.total, books.minted);
      } finally {
        await again.close();
      }
    } finally {
      await Deno.remove(data, { recursive: true });
    }
  });

  it('refunds at start an escrow that no stored job holds', async () => {
    const data = await Deno.makeTempDir({ prefix: 'meshwork-data-' });
    try {
      const first = await startTestCoordinator({ data });
      const client = await MeshTestClient.connect(first.url);
      await client.close();
      await first.close();
      // A process that died between holding escrow and storing the job leaves an escrow nothing can finish.
      const ledger = await openLedger({ path: `${data}/ledger.kv`, starterCredits: START });
      await ledger.hold('jcrashed', client.peerId, 5000);
      ledger.close();
      const again = await startTestCoordinator({ data });
      try {
        assert.equal(await again.ledger.spendable(client.peerId), START);
        assert.equal(await again.ledger.balance('escrow:jcrashed'), 0);
        const books = await again.ledger.summary();
        assert.equal(books.total, books.minted);
      } finally {
        await again.close();
      }
    } finally {
      await Deno.remove(data, { recursive: true });
    }
  });
});
