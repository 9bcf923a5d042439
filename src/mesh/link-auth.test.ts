/**
 * Link authentication over an in-memory connection pair (testing/fake-conn.ts) with real Ed25519 identities.
 * Each fake end carries the SDP fingerprints its side would see, so a relay in the middle (which sees other
 * fingerprints than the two ends) can be modelled.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataConnection } from 'peerjs';
import { generateKeyPair, type Identity, identityFromKeyPair } from '../core/identity.ts';
import { MeshError } from '../protocol/errors.ts';
import { PeerLink } from './peer-link.ts';
import { proofText, sdpFingerprint } from './link-auth.ts';
import { connPair, type FakeConn } from './testing/fake-conn.ts';

const FP_A = 'AA:11';
const FP_B = 'BB:22';

async function identity(): Promise<Identity> {
  return identityFromKeyPair(await generateKeyPair());
}

/** Two connected ends: `a` dialled `aSees`, `b` dialled `bSees`, each seeing the given fingerprints. */
function ends(aSees: string, bSees: string, fps: { a: [string, string]; b: [string, string] } = { a: [FP_A, FP_B], b: [FP_B, FP_A] }): [FakeConn, FakeConn] {
  return connPair(aSees, bSees, fps);
}

describe('link authentication', () => {
  it('sdpFingerprint() reads the sha-256 fingerprint line', () => {
    assert.equal(sdpFingerprint('v=0\r\na=fingerprint:sha-256 ab:CD:01\r\na=x\r\n'), 'AB:CD:01');
    assert.equal(sdpFingerprint(undefined), '');
  });

  it('opens a link once both ends proved their ids, and frames flow after', async () => {
    const [alice, bob] = [await identity(), await identity()];
    const [ca, cb] = ends(bob.peerId, alice.peerId);
    const [la, lb] = await Promise.all([
      PeerLink.open(ca as unknown as DataConnection, 2000, alice),
      PeerLink.open(cb as unknown as DataConnection, 2000, bob),
    ]);
    const got = new Promise((resolve) => lb.addEventListener('shard', (e) => resolve((e as CustomEvent).detail.frame.leaseId), { once: true }));
    la.sendControl({ type: 'shard', v: 2, leaseId: 'L1' });
    assert.equal(await got, 'L1');
    la.close();
  });

  it('closes a link whose other end claims an id it cannot prove', async () => {
    const [alice, bob, mallory] = [await identity(), await identity(), await identity()];
    // Alice dialled Bob's id, but Mallory answers with her own key.
    const [ca, cm] = ends(bob.peerId, alice.peerId);
    const opening = PeerLink.open(ca as unknown as DataConnection, 2000, alice);
    new PeerLink(cm as unknown as DataConnection, mallory);
    const err = await opening.then(() => undefined, (e) => e);
    assert.ok(err instanceof MeshError && err.code === 'unauthorized', String(err));
    assert.match(err.message, /says it is mw/);
  });

  it('refuses a proof relayed through another DTLS session (fingerprints differ)', async () => {
    const [alice, bob] = [await identity(), await identity()];
    // A relay terminates DTLS on both sides: each end sees the relay's fingerprint, not the other end's.
    const [ca, cb] = ends(bob.peerId, alice.peerId, { a: [FP_A, 'EE:99'], b: [FP_B, 'FF:88'] });
    const results = await Promise.allSettled([
      PeerLink.open(ca as unknown as DataConnection, 2000, alice),
      PeerLink.open(cb as unknown as DataConnection, 2000, bob),
    ]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason.message), /does not verify|closed|transfer/);
    }
  });

  it('holds frames sent before the proof, and closes a peer that floods before proving', async () => {
    const [alice, bob] = [await identity(), await identity()];
    const [ca, cb] = ends(bob.peerId, alice.peerId);
    const opening = PeerLink.open(ca as unknown as DataConnection, 3000, alice);
    // "Bob" never proves anything and floods control frames instead.
    for (let i = 0; i < 300; i++) cb.dataChannel.send(JSON.stringify({ type: 'shard', v: 2, leaseId: `x${i}` }));
    const err = await opening.then(() => undefined, (e) => e);
    assert.ok(err instanceof MeshError && err.code === 'unauthorized', String(err));
    assert.match(err.message, /too much before proving its id/);
    void bob;
  });

  it('proofText() binds nonce, both ids and both fingerprints', () => {
    const t = proofText('n', 'mwA', 'mwB', FP_A, FP_B);
    assert.notEqual(t, proofText('n', 'mwB', 'mwA', FP_A, FP_B));
    assert.notEqual(t, proofText('n', 'mwA', 'mwB', FP_B, FP_A));
  });
});
