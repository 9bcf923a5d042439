import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshError } from '../../src/protocol/errors.ts';
import type { ServeLease } from '../../src/protocol/serving.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { contributor } from '../testing/peers.ts';
import { openService, serviceSpec, signedAnswer } from '../testing/serving.ts';

const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e) => (e as MeshError).code);

describe('serving: spot-check disputes', () => {
  it('a third replica decides by hash: the contradicted replica loses its lease and is replaced; forgeries are refused', async () => {
    const c = await startTestCoordinator({ trustNewcomers: false });
    try {
      const peers = await Promise.all([0, 1, 2].map(() => contributor(c.url)));
      const client = await MeshTestClient.connect(c.url);
      const { serviceId } = await openService(client, serviceSpec({ replicas: 2 }));
      const byPeer = new Map<string, ServeLease>();
      await Promise.all(peers.map(async (p) => {
        const got = await p.inbox.next((f) => f.type === 'serve-assign', 'assign', 1000).catch(() => undefined);
        if (got?.type === 'serve-assign') byPeer.set(p.peerId, got.lease);
      }));
      assert.equal(byPeer.size, 2);
      const [honest, liar] = peers.filter((p) => byPeer.has(p.peerId));
      const spare = peers.find((p) => !byPeer.has(p.peerId))!;
      const good = await signedAnswer(honest!, byPeer.get(honest!.peerId)!, 'r1', 'in', 'right');
      const bad = await signedAnswer(liar!, byPeer.get(liar!.peerId)!, 'r1', 'in', 'wrong');

      // Hostile disputes: a forged answer, answers that agree, answers to different inputs, an unknown service.
      const forged = await signedAnswer(client, byPeer.get(liar!.peerId)!, 'r1', 'in', 'wrong');
      assert.equal(await code(client.request({ type: 'serve-dispute', serviceId, answers: [good, forged] })), 'unauthorized');
      const same = await signedAnswer(liar!, byPeer.get(liar!.peerId)!, 'r1', 'in', 'right');
      assert.equal(await code(client.request({ type: 'serve-dispute', serviceId, answers: [good, same] })), 'invalid-message');
      const other = await signedAnswer(liar!, byPeer.get(liar!.peerId)!, 'r2', 'another input', 'wrong');
      assert.equal(await code(client.request({ type: 'serve-dispute', serviceId, answers: [good, other] })), 'invalid-message');
      assert.equal(await code(client.request({ type: 'serve-dispute', serviceId: 'sv404', answers: [good, bad] })), 'not-found');
      const outsider = await MeshTestClient.connect(c.url);
      assert.equal(await code(outsider.request({ type: 'serve-dispute', serviceId, answers: [good, bad] })), 'unauthorized');

      // With two replicas, an arbiter is placed on the third contributor for this dispute.
      const opened = await client.request<{ disputeId: string; arbiter: ServeLease }>({ type: 'serve-dispute', serviceId, answers: [good, bad] });
      assert.equal(opened.arbiter.contributor, spare.peerId);
      assert.equal(opened.arbiter.role, 'arbiter');
      assert.equal((await spare.next('serve-assign')).lease.leaseId, opened.arbiter.leaseId);
      // The arbiter's answer must be its own, to the same input.
      const notArbiter = await signedAnswer(honest!, opened.arbiter, 'r1', 'in', 'right');
      assert.equal(await code(client.request({ type: 'serve-arbitrate', serviceId, disputeId: opened.disputeId, answer: notArbiter })), 'unauthorized');
      const wrongInput = await signedAnswer(spare, opened.arbiter, 'r1', 'other', 'right');
      assert.equal(await code(client.request({ type: 'serve-arbitrate', serviceId, disputeId: opened.disputeId, answer: wrongInput })), 'invalid-message');

      const verdict = await client.request({ type: 'serve-arbitrate', serviceId, disputeId: opened.disputeId, answer: await signedAnswer(spare, opened.arbiter, 'r1', 'in', 'right') });
      assert.deepEqual(verdict, { verdict: 'upheld', loser: bad.claim.leaseId });
      assert.equal((await liar!.next('serve-revoke')).leaseId, bad.claim.leaseId);
      assert.equal(c.market.credibility.get(liar!.peerId).failures, 1);
      // The arbiter's one-off lease ends; the service is back to two replicas, the liar not among them.
      const ends = await spare.inbox.next((f) => f.type === 'serve-revoke' || f.type === 'serve-assign', 'arbiter end or new placement');
      assert.ok(ends.type === 'serve-revoke' || ends.type === 'serve-assign');
      const status = await client.request<{ replicas: ServeLease[] }>({ type: 'serve-status', serviceId });
      assert.equal(status.replicas.length, 2);
      assert.ok(status.replicas.every((l) => l.contributor !== liar!.peerId));
      // Decided once: the same dispute cannot be replayed.
      assert.equal(await code(client.request({ type: 'serve-arbitrate', serviceId, disputeId: opened.disputeId, answer: await signedAnswer(spare, opened.arbiter, 'r1', 'in', 'right') })), 'not-found');
      await Promise.all([...peers.map((p) => p.close()), client.close(), outsider.close()]);
    } finally {
      await c.close();
    }
  });

  it('an arbiter that agrees with neither side penalises nobody', async () => {
    const c = await startTestCoordinator();
    try {
      const peers = await Promise.all([0, 1, 2].map(() => contributor(c.url)));
      const client = await MeshTestClient.connect(c.url);
      const { serviceId } = await openService(client, serviceSpec({ replicas: 3 }));
      const leases = await Promise.all(peers.map(async (p) => (await p.next('serve-assign')).lease));
      const a = await signedAnswer(peers[0]!, leases[0]!, 'q', 'in', 'one');
      const b = await signedAnswer(peers[1]!, leases[1]!, 'q', 'in', 'two');
      const opened = await client.request<{ disputeId: string; arbiter: ServeLease }>({ type: 'serve-dispute', serviceId, answers: [a, b] });
      assert.equal(opened.arbiter.leaseId, leases[2]!.leaseId, 'the third replica arbitrates; nothing new is placed');
      const verdict = await client.request({ type: 'serve-arbitrate', serviceId, disputeId: opened.disputeId, answer: await signedAnswer(peers[2]!, leases[2]!, 'q', 'in', 'three') });
      assert.deepEqual(verdict, { verdict: 'undecided' });
      const status = await client.request<{ replicas: ServeLease[] }>({ type: 'serve-status', serviceId });
      assert.equal(status.replicas.length, 3);
      for (const p of peers) assert.equal(c.market.credibility.get(p.peerId).failures, 0);
      await Promise.all([...peers.map((p) => p.close()), client.close()]);
    } finally {
      await c.close();
    }
  });
});
