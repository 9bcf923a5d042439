import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openLedger } from '../ledger/mod.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';

const START = 1000 * 1e6;

describe('market: escrow across restarts', () => {
  it('refunds running jobs on shutdown and escrows orphaned by a crash on start', async () => {
    const data = await Deno.makeTempDir({ prefix: 'meshwork-data-' });
    try {
      const c = await startTestCoordinator({ data });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 2 }));
      assert.ok(await c.ledger.balance(`escrow:${jobId}`) > 0);
      const ending = client.inbox.next((f) => f.type === 'job' && f.status.state === 'cancelled', 'cancel on shutdown');
      await c.close();
      await ending;

      // A crash leaves an escrow behind: simulate it with a hold no process will finish.
      const ledger = await openLedger({ path: `${data}/ledger.kv`, starterCredits: START });
      assert.equal(await ledger.spendable(client.peerId), START);
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
