import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signallingToken } from '../../src/core/identity.ts';
import { keyedToken } from '../testing/signal-client.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { newIdentity } from '../testing/mesh-client.ts';
import { openSignal, type Signal } from '../testing/signal-client.ts';
import type { WsInbox } from '../testing/ws-inbox.ts';

async function opened(inbox: WsInbox<Signal>): Promise<WsInbox<Signal>> {
  const first = await inbox.next(() => true, 'the first frame');
  assert.equal(first.type, 'OPEN', `expected OPEN, got ${JSON.stringify(first)}`);
  return inbox;
}

async function closeAll(...inboxes: WsInbox<Signal>[]): Promise<void> {
  await Promise.all(inboxes.map((i) => i.close()));
}

describe('PeerJS signalling: HTTP', () => {
  it('serves server info and fresh ids that never look keyed', async () => {
    const c = await startTestCoordinator();
    try {
      const info = await (await fetch(`${c.url}/peerjs`)).json();
      assert.equal(info.name, 'PeerJS Server');
      const res = await fetch(`${c.url}/peerjs/peerjs/id?ts=1&version=1.5.5`);
      const id = await res.text();
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-/);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal((await fetch(`${c.url}/peerjs/wrong/id`).then((r) => (r.body?.cancel(), r.status))), 401);
      assert.equal((await fetch(`${c.url}/peerjs/peerjs/peers`).then((r) => (r.body?.cancel(), r.status))), 401);
    } finally {
      await c.close();
    }
  });
});

describe('PeerJS signalling: sessions', () => {
  it('opens an anonymous id and refuses a second socket with another token (ID-TAKEN)', async () => {
    const c = await startTestCoordinator();
    try {
      const a = await opened(openSignal(c.url, 'alice', 'tok1'));
      const b = openSignal(c.url, 'alice', 'tok2');
      assert.equal((await b.next(() => true)).type, 'ID-TAKEN');
      await b.closed;
      assert.equal(c.signalling.peers, 1);
      await closeAll(a);
    } finally {
      await c.close();
    }
  });

  it('refuses a keyed id without a valid token and accepts it with one', async () => {
    const c = await startTestCoordinator();
    try {
      const me = await newIdentity();
      const other = await newIdentity();
      const bad = [
        openSignal(c.url, me.peerId, 'random-token'),
        openSignal(c.url, me.peerId, await keyedToken(c.url, other)), // another key's proof
        openSignal(c.url, me.peerId, await signallingToken(me, `${Date.now() + 30_000}.AAAA.BBBB`)), // a nonce we never issued
      ];
      for (const inbox of bad) {
        const frame = await inbox.next(() => true);
        assert.equal(frame.type, 'ERROR');
        assert.match(frame.payload?.msg ?? '', /Cannot accept keyed id/);
        await inbox.closed;
      }
      const good = await opened(openSignal(c.url, me.peerId, await keyedToken(c.url, me)));
      await closeAll(good);
    } finally {
      await c.close();
    }
  });

  it('refuses a connection without id, token or key, or with the wrong key', async () => {
    const c = await startTestCoordinator();
    try {
      const noToken = openSignal(c.url, 'bob', '');
      assert.match((await noToken.next(() => true)).payload?.msg ?? '', /No id, token, or key/);
      const wrongKey = openSignal(c.url, 'bob', 't', 'nope');
      assert.match((await wrongKey.next(() => true)).payload?.msg ?? '', /Invalid key/);
      await Promise.all([noToken.closed, wrongKey.closed]);
    } finally {
      await c.close();
    }
  });
});

describe('PeerJS signalling: relaying', () => {
  it('forwards an OFFER with src forced to the sender', async () => {
    const c = await startTestCoordinator();
    try {
      const a = await opened(openSignal(c.url, 'alice', 't'));
      const b = await opened(openSignal(c.url, 'bob', 't'));
      a.send({ type: 'OFFER', src: 'mallory', dst: 'bob', payload: { sdp: 'v=0', connectionId: 'dc_1' } });
      const got = await b.nextOfType('OFFER');
      assert.deepEqual(got, { type: 'OFFER', src: 'alice', dst: 'bob', payload: { sdp: 'v=0', connectionId: 'dc_1' } });
      await closeAll(a, b);
    } finally {
      await c.close();
    }
  });

  it('delivers a message queued for an absent peer when it connects', async () => {
    const c = await startTestCoordinator();
    try {
      const a = await opened(openSignal(c.url, 'alice', 't'));
      a.send({ type: 'CANDIDATE', dst: 'late', payload: { candidate: 'c1' } });
      await new Promise((r) => setTimeout(r, 50));
      const late = openSignal(c.url, 'late', 't');
      assert.equal((await late.next(() => true)).type, 'OPEN');
      const queued = await late.nextOfType('CANDIDATE');
      assert.deepEqual([queued.src, queued.payload], ['alice', { candidate: 'c1' }]);
      await closeAll(a, late);
    } finally {
      await c.close();
    }
  });

  it('sends EXPIRE to the sender when nobody collects a queued message in time', async () => {
    const c = await startTestCoordinator({ expireMs: 200 });
    try {
      const a = await opened(openSignal(c.url, 'alice', 't'));
      const sent = Date.now();
      a.send({ type: 'OFFER', dst: 'ghost', payload: {} });
      const expire = await a.nextOfType('EXPIRE', 3000);
      assert.deepEqual([expire.src, expire.dst], ['ghost', 'alice']);
      assert.ok(Date.now() - sent >= 190, 'EXPIRE came before the timeout');
      await closeAll(a);
    } finally {
      await c.close();
    }
  });

  it('answers invalid frames with ERROR and keeps relaying for the same session', async () => {
    const c = await startTestCoordinator();
    try {
      const a = await opened(openSignal(c.url, 'alice', 't'));
      const b = await opened(openSignal(c.url, 'bob', 't'));
      a.send('{not json');
      assert.match((await a.nextOfType('ERROR')).payload?.msg ?? '', /not valid JSON/);
      a.send({ type: 'BOGUS', dst: 'bob' });
      assert.match((await a.nextOfType('ERROR')).payload?.msg ?? '', /'type' must be one of/);
      a.send({ type: 'OFFER', payload: {} });
      assert.match((await a.nextOfType('ERROR')).payload?.msg ?? '', /'dst' is missing/);
      a.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'x'.repeat(70_000) } });
      const big = await a.nextOfType('ERROR');
      assert.equal(big.payload?.code, 'too-large');
      a.send({ type: 'ANSWER', dst: 'bob', payload: { sdp: 'ok' } });
      assert.deepEqual((await b.nextOfType('ANSWER')).payload, { sdp: 'ok' });
      await closeAll(a, b);
    } finally {
      await c.close();
    }
  });

  it('rate-limits a flooding peer with ERROR rate-limited', async () => {
    const c = await startTestCoordinator({ ratePerSec: 5, rateBurst: 5 });
    try {
      const a = await opened(openSignal(c.url, 'alice', 't'));
      for (let i = 0; i < 80; i++) a.send({ type: 'HEARTBEAT' }); // past the sender-wide burst (10 x 5)
      const err = await a.nextOfType('ERROR');
      assert.equal(err.payload?.code, 'rate-limited');
      await closeAll(a);
    } finally {
      await c.close();
    }
  });

  it('caps connections per address and frees the slot when one closes', async () => {
    const c = await startTestCoordinator({ maxConnsPerIp: 2 });
    try {
      const a = await opened(openSignal(c.url, 'a1', 't'));
      const b = await opened(openSignal(c.url, 'b1', 't'));
      const third = openSignal(c.url, 'c1', 't');
      await assert.rejects(third.opened);
      await third.closed;
      await a.close();
      await new Promise((r) => setTimeout(r, 50));
      const again = await opened(openSignal(c.url, 'c1', 't'));
      await closeAll(b, again);
    } finally {
      await c.close();
    }
  });

  it('drops a client that stays silent past the alive timeout', async () => {
    const c = await startTestCoordinator({ aliveMs: 150, expireMs: 100 });
    try {
      const a = await opened(openSignal(c.url, 'quiet', 't'));
      await a.closed;
      assert.equal(c.signalling.peers, 0);
    } finally {
      await c.close();
    }
  });
});
