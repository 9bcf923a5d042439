// Minting (issue: strangers can't mint credits). Against 92656e7, 50 throwaway keys from one address each
// paid one collector through a 1-unit shard: 1,000 -> 48,600 credits in 0.45 s, and one address created
// 1,423 accounts a second.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../src/protocol/errors.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient, newIdentity } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';
import { ACCOUNTS_BURST } from '../limits/account-gate.ts';

const START = 1000 * 1e6;

describe('mesh API: new accounts and grants', () => {
  it('limits new accounts per address and starter grants per network, and grants never become earned credit', async () => {
    const c = await startTestCoordinator({ trustProxy: ['127.0.0.1'], grantsPerNetworkDay: 3 });
    try {
      const collector = await contributor(c.url, { askPrice: 1_000_000, maxConcurrent: 4, from: '192.0.2.77' });
      // 50 throwaway keys from one address: the first ACCOUNTS_BURST get accounts, the rest are refused.
      const made: MeshTestClient[] = [];
      let refused = 0;
      for (let i = 0; i < 50; i++) {
        try {
          made.push(await MeshTestClient.connect(c.url, await newIdentity(), '203.0.113.50'));
        } catch (err) {
          assert.ok(err instanceof MeshError && err.code === 'rate-limited', String(err));
          refused++;
        }
      }
      assert.equal(made.length, ACCOUNTS_BURST);
      assert.equal(refused, 50 - ACCOUNTS_BURST);
      // Of those accounts, only 3 (one /24 network, one day) were granted starter credits.
      const balances = made.map((m) => m.welcome.balance);
      assert.equal(balances.filter((b) => b === START).length, 3);
      assert.equal(balances.filter((b) => b === 0).length, ACCOUNTS_BURST - 3);
      // Each funded key pays the collector as much as it can (bid = its whole grant per work unit).
      for (const key of made.filter((m) => m.welcome.balance > 0)) {
        const job = onnxJob({ shards: 1, items: 1, bid: 1_000_000 });
        job.shards[0]!.workUnits = 300; // 3 runs x (300 x 1e6 + 5% fee) fit in the grant
        const { jobId } = await key.submit(job);
        const { lease } = await collector.next('assign');
        await collector.claim(lease, outputHash(lease));
        await key.request({ type: 'cancel', jobId }); // the claimed run is paid at its claim hash
      }
      await new Promise((r) => setTimeout(r, 100));
      const audit = await c.ledger.summary();
      assert.equal(audit.total, audit.minted);
      assert.equal(audit.minted, 4 * START, 'the collector\'s grant and three more; nothing else was minted');
      // What the collector collected is grant credit (escrow only), not earned credit.
      assert.equal(await c.ledger.balance(`peer:${collector.peerId}`), 0);
      assert.equal(await c.ledger.balance(`grant:${collector.peerId}`), START + 3 * 300 * 1_000_000);
      // A key that was refused can come back later from another address and is welcome (one key, one account).
      const later = await MeshTestClient.connect(c.url, await newIdentity(), '198.51.100.9');
      assert.equal(later.welcome.balance, START);
      await Promise.all([collector, later, ...made].map((m) => m.close()));
    } finally {
      await c.close();
    }
  });

  it('never limits loopback: the operator\'s own machine', async () => {
    const c = await startTestCoordinator({ grantsPerNetworkDay: 1 });
    try {
      const peers = await Promise.all(Array.from({ length: ACCOUNTS_BURST + 5 }, () => MeshTestClient.connect(c.url)));
      assert.ok(peers.every((p) => p.welcome.balance === START));
      await Promise.all(peers.map((p) => p.close()));
    } finally {
      await c.close();
    }
  });
});
