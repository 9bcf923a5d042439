import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signedText } from '../../src/protocol/coordinator.ts';
import type { MeshError } from '../../src/protocol/errors.ts';
import type { ServeReceipt } from '../../src/protocol/serving.ts';
import { eventually, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { contributor } from '../testing/peers.ts';
import { openService, payServe, serviceSpec } from '../testing/serving.ts';

const START = 1000 * 1e6;
const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e) => (e as MeshError).code);

describe('serving: placement, renewal and re-placement', () => {
  it('places the replicas asked for on distinct contributors, holds the budget, and tells the client', async () => {
    const c = await startTestCoordinator({ feeRate: 0.05 });
    try {
      const a = await contributor(c.url, { askPrice: 1 });
      const b = await contributor(c.url, { askPrice: 1 });
      const client = await MeshTestClient.connect(c.url);
      const opened = await openService(client, serviceSpec({ replicas: 2, budget: 5_000_000, maxBatch: 8 }));
      assert.match(opened.serviceId, /^sv[0-9a-f]{30}$/);
      assert.equal(opened.status.escrow, 5_000_000);
      const [ga, gb] = [await a.next('serve-assign'), await b.next('serve-assign')];
      assert.notEqual(ga.lease.leaseId, gb.lease.leaseId);
      for (const [g, peer] of [[ga, a], [gb, b]] as const) {
        assert.deepEqual([g.lease.contributor, g.lease.client, g.lease.role, g.maxBatch, g.payers], [peer.peerId, client.peerId, 'replica', 8, [client.peerId]]);
        assert.ok(g.renewMs > 0 && g.renewMs < g.lease.expiresAt - Date.now() + 1000);
      }
      const status = await client.request<{ replicas: { contributor: string }[] }>({ type: 'serve-status', serviceId: opened.serviceId });
      assert.deepEqual(new Set(status.replicas.map((r) => r.contributor)), new Set([a.peerId, b.peerId]));
      assert.equal(await c.ledger.balance(`escrow:${opened.serviceId}`), 5_000_000);
      // A serving lease holds a slot: the market sees the contributor as busy with it.
      assert.ok(c.market.registry.get(a.peerId)!.load.has(ga.lease.leaseId));
      // A replayed open is refused, and a budget beyond the balance too.
      const spec = serviceSpec();
      await openService(client, spec);
      assert.equal(await code(openService(client, spec)), 'conflict');
      assert.equal(await code(openService(client, serviceSpec({ budget: START * 10 }))), 'insufficient-funds');
      await Promise.all([a.close(), b.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('renewed leases stay; one that is not renewed is revoked and re-placed on a spare contributor', async () => {
    const c = await startTestCoordinator({ leaseMs: 900 });
    try {
      const a = await contributor(c.url);
      const client = await MeshTestClient.connect(c.url);
      const { serviceId } = await openService(client, serviceSpec());
      const first = await a.next('serve-assign');
      const b = await contributor(c.url); // the spare arrives after placement
      // a renews twice past the original expiry, then stops.
      for (let i = 0; i < 3; i++) {
        const renewed = await a.request<{ expiresAt: number }>({ type: 'serve-renew', leaseId: first.lease.leaseId, queued: 0, served: i });
        assert.ok(renewed.expiresAt >= first.lease.expiresAt);
        await new Promise((r) => setTimeout(r, first.renewMs));
      }
      const revoked = await a.next('serve-revoke', 5000);
      assert.equal(revoked.leaseId, first.lease.leaseId);
      assert.match(revoked.reason, /not renewed/);
      const second = await b.next('serve-assign', 5000);
      assert.equal(second.lease.serviceId, serviceId);
      const replicas = await client.inbox.next((f) => f.type === 'serve-replicas' && f.replicas.some((r) => r.contributor === b.peerId), 'replicas on b');
      assert.ok(replicas.type === 'serve-replicas' && replicas.replicas.every((r) => r.contributor !== a.peerId));
      assert.equal(await code(a.request({ type: 'serve-renew', leaseId: first.lease.leaseId, queued: 0, served: 9 })), 'lease-expired');
      assert.equal(c.market.registry.get(a.peerId)!.load.has(first.lease.leaseId), false, 'the slot is free again');
      await Promise.all([a.close(), b.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('a contributor that leaves, pauses or gives its lease up is replaced; a stranger cannot end or renew its lease', async () => {
    const c = await startTestCoordinator();
    try {
      const a = await contributor(c.url);
      const client = await MeshTestClient.connect(c.url);
      const { serviceId } = await openService(client, serviceSpec());
      const onA = await a.next('serve-assign');
      const b = await contributor(c.url);
      const stranger = await contributor(c.url, { askPrice: 100 }); // asks more than the bid: never placed
      assert.deepEqual(await stranger.request({ type: 'serve-leave', leaseId: onA.lease.leaseId, reason: 'hostile' }), { left: false });
      assert.equal(await code(stranger.request({ type: 'serve-renew', leaseId: onA.lease.leaseId, queued: 0, served: 0 })), 'lease-expired');
      await a.close(); // a leaves the mesh
      const onB = await b.next('serve-assign');
      assert.equal(onB.lease.serviceId, serviceId);
      const a2 = await contributor(c.url);
      await b.request({ type: 'state', state: 'paused' });
      const onA2 = await a2.next('serve-assign');
      assert.equal((await b.next('serve-revoke')).leaseId, onB.lease.leaseId);
      await b.request({ type: 'state', state: 'active' });
      assert.deepEqual(await a2.request({ type: 'serve-leave', leaseId: onA2.lease.leaseId, reason: 'closing the tab' }), { left: true });
      const onB2 = await b.next('serve-assign');
      const status = await client.request<{ replicas: { leaseId: string }[]; placements: number }>({ type: 'serve-status', serviceId });
      assert.deepEqual(status.replicas.map((r) => r.leaseId), [onB2.lease.leaseId]);
      assert.equal(status.placements, 4);
      await Promise.all([a2.close(), b.close(), stranger.close(), client.close()]);
    } finally {
      await c.close();
    }
  });
});

describe('serving: settlement', () => {
  it('pays cumulative receipts once, refuses what cannot be the lease\'s, refunds the rest at close, and keeps the books', async () => {
    const c = await startTestCoordinator({ feeRate: 0.05 });
    try {
      const a = await contributor(c.url, { askPrice: 2 });
      const client = await MeshTestClient.connect(c.url);
      const outsider = await MeshTestClient.connect(c.url);
      const { serviceId } = await openService(client, serviceSpec({ bid: 3, budget: 2_000_000, maxBatch: 4 }));
      const { lease } = await a.next('serve-assign');
      assert.equal(lease.price, 2, 'paid at the contributor\'s ask');
      assert.deepEqual(await payServe(client, lease, 5, 5000), { paid: true, amount: 10_000, fee: 500 });
      const credited = await a.next('serve-credited');
      assert.deepEqual(credited, { type: 'serve-credited', leaseId: lease.leaseId, payer: client.peerId, workUnits: 5000, amount: 10_000, balance: START + 10_000 });
      assert.deepEqual(await payServe(client, lease, 5, 5000), { paid: false, amount: 0, fee: 0 }, 'a replay pays nothing');
      assert.deepEqual(await payServe(client, lease, 4, 4000), { paid: false, amount: 0, fee: 0 }, 'a lower count pays nothing');
      assert.deepEqual(await payServe(client, lease, 8, 8000), { paid: true, amount: 6000, fee: 300 }, 'only the increase');
      // Hostile receipts.
      assert.equal(await code(payServe(client, { ...lease, contributor: client.peerId }, 9, 9000)), 'invalid-message');
      assert.equal(await code(payServe(client, lease, 1, 4001)), 'invalid-message', 'more work than one request can carry at maxBatch 4');
      assert.equal(await code(payServe(client, { ...lease, leaseId: `${serviceId}-99` }, 9, 9000)), 'not-found');
      assert.equal(await code(payServe(outsider, lease, 20, 20_000)), 'not-found', 'a non-payer cannot pay from the escrow');
      assert.equal(await code(payServe(client, lease, 20, 20_000, outsider)), 'unauthorized', 'a receipt signed by another key');
      const forged: ServeReceipt = { serviceId, leaseId: lease.leaseId, contributor: lease.contributor, requests: 30, workUnits: 30_000 };
      assert.equal(await code(a.request({ type: 'serve-receipt', receipt: forged, signature: await a.identity.sign(signedText('serve-receipt', forged)) })), 'not-found', 'the contributor cannot pay itself');

      const closed = await client.request<{ state: string; spent: number; fees: number; refunded: number }>({ type: 'serve-close', serviceId });
      assert.deepEqual([closed.state, closed.spent, closed.fees, closed.refunded], ['closed', 16_000, 800, 2_000_000 - 16_800]);
      assert.equal((await a.next('serve-revoke')).leaseId, lease.leaseId);
      assert.equal(await code(payServe(client, lease, 9, 9000)), 'conflict', 'no payment after the refund');
      assert.equal(await c.ledger.spendable(client.peerId), START - 16_800);
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
      await Promise.all([a.close(), client.close(), outsider.close()]);
    } finally {
      await c.close();
    }
  });

  it('a shared service: a joiner pays from its own escrow; an unshared one refuses joiners; whoever asks pays', async () => {
    const c = await startTestCoordinator({ feeRate: 0 });
    try {
      const a = await contributor(c.url, { askPrice: 1 });
      const owner = await MeshTestClient.connect(c.url);
      const guest = await MeshTestClient.connect(c.url);
      const { serviceId } = await openService(owner, serviceSpec({ shared: true, budget: 100_000 }));
      const { lease } = await a.next('serve-assign');
      const privateOne = await openService(owner, serviceSpec({ shared: false }));
      await a.next('serve-assign');
      assert.equal(await code(guest.request({ type: 'serve-join', serviceId: privateOne.serviceId, budget: 1000 })), 'unauthorized');
      assert.equal(await code(guest.request({ type: 'serve-join', serviceId: 'sv0000', budget: 1000 })), 'not-found');
      const joined = await guest.request<{ status: { escrow: number } }>({ type: 'serve-join', serviceId, budget: 50_000 });
      assert.equal(joined.status.escrow, 50_000);
      assert.deepEqual(await a.next('serve-payer'), { type: 'serve-payer', leaseId: lease.leaseId, payer: guest.peerId });
      assert.equal(await code(guest.request({ type: 'serve-join', serviceId, budget: 1 })), 'conflict');
      // Each payer's receipts move its own escrow only, counted apart per payer.
      assert.equal((await payServe(guest, lease, 3, 3000)).amount, 3000);
      assert.equal((await payServe(owner, lease, 1, 1000)).amount, 1000);
      assert.equal(await c.ledger.spendable(guest.peerId), START - 50_000);
      const left = await guest.request<{ spent: number; refunded: number }>({ type: 'serve-close', serviceId });
      assert.deepEqual([left.spent, left.refunded], [3000, 47_000]);
      assert.equal(await c.ledger.spendable(guest.peerId), START - 3000);
      assert.equal((await owner.request<{ state: string }>({ type: 'serve-status', serviceId })).state, 'open', 'a joiner leaving does not close it');
      await Promise.all([a.close(), owner.close(), guest.close()]);
    } finally {
      await c.close();
    }
  });

  it('a service whose owner leaves closes and refunds; a flood of opens is capped per client', async () => {
    const c = await startTestCoordinator();
    try {
      const a = await contributor(c.url, { maxConcurrent: 64 });
      const owner = await MeshTestClient.connect(c.url);
      const { serviceId } = await openService(owner, serviceSpec({ budget: 10_000 }));
      await a.next('serve-assign');
      const extra = [];
      for (let i = 0; i < 15; i++) extra.push(await openService(owner, serviceSpec({ budget: 1 })));
      assert.equal(await code(openService(owner, serviceSpec({ budget: 1 }))), 'rate-limited');
      await owner.close();
      const revoked = await a.inbox.next((f) => f.type === 'serve-revoke' && f.leaseId.startsWith(serviceId), 'revoke');
      assert.match(revoked.type === 'serve-revoke' ? revoked.reason : '', /owner left/);
      assert.equal(c.serving.service(serviceId)!.state, 'closed');
      // Every one of its sixteen escrows comes back (the refunds follow the revokes).
      await eventually('the owner refunded', async () => (await c.ledger.spendable(owner.peerId)) === START);
      await a.close();
    } finally {
      await c.close();
    }
  });
});

describe('serving: hostile frames', () => {
  it('rejects malformed serving frames with a clear error and carries on', async () => {
    const c = await startTestCoordinator();
    try {
      const peer = await MeshTestClient.connect(c.url);
      const bad = [
        { type: 'serve-open', rid: 1, service: { ...serviceSpec(), maxBatch: 100_000 }, signature: 'x' },
        { type: 'serve-open', rid: 2, service: { ...serviceSpec(), replicas: 0 }, signature: 'x' },
        { type: 'serve-renew', rid: 3, leaseId: 'a'.repeat(65), queued: 0, served: 0 },
        { type: 'serve-dispute', rid: 4, serviceId: 'sv1', answers: [] },
      ];
      for (const frame of bad) {
        peer.inbox.send(frame);
        const reply = await peer.inbox.next((f) => f.type === 'error' && f.rid === frame.rid, `error #${frame.rid}`);
        assert.equal(reply.type === 'error' && reply.error.code, 'invalid-message');
      }
      const spec = serviceSpec();
      assert.equal(await code(peer.request({ type: 'serve-open', service: spec, signature: await peer.identity.sign(signedText('job', spec)) })), 'unauthorized');
      assert.equal(await code(peer.request({ type: 'serve-status', serviceId: 'sv1' })), 'not-found');
      assert.equal(await code(peer.request({ type: 'serve-close', serviceId: 'sv1' })), 'not-found');
      assert.deepEqual(await peer.request({ type: 'balance' }), { peerId: peer.peerId, balance: START }, 'the session still works');
      await peer.close();
    } finally {
      await c.close();
    }
  });
});
