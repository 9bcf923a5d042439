/**
 * SignallingKeeper and pointSignallingAt with the real peerjs 1.5 Peer against real coordinators (in-process,
 * port 0). Deno has no RTCPeerConnection, which peerjs only probes when it loads (`util.supports`): a stand-in
 * is in place for the import, and no peer connection is made. Moving with open data connections is covered by
 * e2e/failover.spec.ts in a real browser. Needs network permission for 127.0.0.1; skipped without it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Peer } from 'peerjs';
import { generateKeyPair, type Identity, identityFromKeyPair, signallingToken } from '../core/identity.ts';
// The counterpart under test is the real coordinator; only tests reach across the layer boundary.
// eslint-disable-next-line import-x/no-restricted-paths
import { eventually, startTestCoordinator } from '../../coordinator/testing/coordinator.ts';
// eslint-disable-next-line import-x/no-restricted-paths
import { openSignal, type Signal } from '../../coordinator/testing/signal-client.ts';
import { fetchConfig, fetchSignallingNonce, type MeshConfig, peerOptions } from './config.ts';
import { pointSignallingAt, SignallingKeeper } from './signalling-keeper.ts';

const skip = (globalThis as { Deno?: { permissions: { querySync(d: { name: string }): { state: string } } } }).Deno?.permissions
  .querySync({ name: 'net' }).state !== 'granted';
const policy = { attempts: 4, baseMs: 20, maxMs: 100 };

/** peerjs' Peer class from its ES module build (its CommonJS main hides the named exports from Deno). */
async function peerClass(): Promise<typeof Peer> {
  const g = globalThis as { RTCPeerConnection?: unknown };
  const stub = g.RTCPeerConnection === undefined;
  if (stub) {
    g.RTCPeerConnection = class {
      createDataChannel() {
        return { ordered: true, close() {} };
      }
      close() {}
    };
  }
  try {
    return ((await import('peerjs/dist/bundler.mjs')) as unknown as { Peer: typeof Peer }).Peer;
  } finally {
    if (stub) delete g.RTCPeerConnection;
  }
}

/** A Peer of `identity` open at the coordinator `base`, as openSignalling makes it. */
async function openPeer(base: string, identity: Identity, config: MeshConfig): Promise<Peer> {
  const PeerClass = await peerClass();
  const token = await signallingToken(identity, await fetchSignallingNonce(base, config, identity.peerId));
  const peer = new PeerClass(identity.peerId, peerOptions(base, config, token));
  peer.on('error', () => {}); // 'network' after a server dies: the keeper handles the 'disconnected' that follows
  await new Promise<void>((resolve) => peer.once('open', () => resolve()));
  return peer;
}

const opened = (peer: Peer): Promise<void> => new Promise((resolve) => peer.once('open', () => resolve()));

describe('SignallingKeeper', { skip }, () => {
  it('moveTo() moves an open Peer to another coordinator: same id, fresh token, signals are relayed there', async () => {
    const [a, b] = await Promise.all([startTestCoordinator(), startTestCoordinator()]);
    const identity = await identityFromKeyPair(await generateKeyPair());
    const config = await fetchConfig(a.url);
    const peer = await openPeer(a.url, identity, config);
    const keeper = new SignallingKeeper(peer, a.url, identity, config, policy, (err) => assert.fail(err));
    try {
      assert.equal(a.signalling.peers, 1);
      const there = opened(peer);
      keeper.moveTo(b.url);
      assert.equal(keeper.base, b.url);
      await there;
      assert.equal(peer.id, identity.peerId);
      assert.equal(peer.options.port, b.port);
      await eventually('the peer to leave a', () => a.signalling.peers === 0);
      assert.equal(b.signalling.peers, 1);
      // Another peer of b hears from it by id: its socket is b's now.
      const other = openSignal(b.url, 'other1', 'token-of-other1');
      await other.nextOfType('OPEN');
      peer.socket.send({ type: 'CANDIDATE', dst: 'other1', payload: { hello: 'from b' } });
      const signal: Signal = await other.nextOfType('CANDIDATE');
      assert.deepEqual([signal.src, signal.payload], [identity.peerId, { hello: 'from b' }]);
      await other.close();
      // Moving to where it already is changes nothing.
      keeper.moveTo(b.url);
      assert.equal(peer.open, true);
    } finally {
      keeper.dispose();
      peer.destroy();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('after its coordinator dies, reconnects to the one it is moved to meanwhile', async () => {
    const [a, b] = await Promise.all([startTestCoordinator(), startTestCoordinator()]);
    const identity = await identityFromKeyPair(await generateKeyPair());
    const config = await fetchConfig(a.url);
    const peer = await openPeer(a.url, identity, config);
    const keeper = new SignallingKeeper(peer, a.url, identity, config, { ...policy, baseMs: 200 }, (err) => assert.fail(err));
    try {
      const dropped = new Promise((resolve) => peer.once('disconnected', resolve));
      await a.close();
      await dropped;
      const there = opened(peer);
      keeper.moveTo(b.url); // wakes the pause before the next try
      await there;
      assert.equal(peer.options.port, b.port);
      assert.equal(b.signalling.peers, 1);
    } finally {
      keeper.dispose();
      peer.destroy();
      await b.close();
    }
  });

  it('gives up after its attempts when its coordinator stays down', async () => {
    const a = await startTestCoordinator();
    const identity = await identityFromKeyPair(await generateKeyPair());
    const config = await fetchConfig(a.url);
    const peer = await openPeer(a.url, identity, config);
    const gaveUp = Promise.withResolvers<Error>();
    const keeper = new SignallingKeeper(peer, a.url, identity, config, { attempts: 2, baseMs: 10, maxMs: 20 }, gaveUp.resolve);
    try {
      await a.close();
      assert.match((await gaveUp.promise).message, /Cannot reconnect to signalling at http:\/\/127\.0\.0\.1:\d+ after 2 attempts/);
    } finally {
      keeper.dispose();
      peer.destroy();
    }
  });

  it('pointSignallingAt() leaves a Peer at the same coordinator alone and never moves a connected one', async () => {
    const [a, b] = await Promise.all([startTestCoordinator(), startTestCoordinator()]);
    const identity = await identityFromKeyPair(await generateKeyPair());
    const config = await fetchConfig(a.url);
    const peer = await openPeer(a.url, identity, config);
    try {
      assert.equal(pointSignallingAt(peer, `${a.url}/`, config), false);
      assert.throws(() => pointSignallingAt(peer, b.url, config), /still connected/);
      const socket = peer.socket;
      peer.disconnect();
      assert.equal(pointSignallingAt(peer, b.url, config), true);
      assert.notEqual(peer.socket, socket);
      assert.deepEqual([peer.options.host, peer.options.port, peer.options.path], ['127.0.0.1', b.port, '/peerjs/']);
    } finally {
      peer.destroy();
      await Promise.all([a.close(), b.close()]);
    }
  });
});
