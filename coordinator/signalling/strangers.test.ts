// Signalling against hostile peers (issue: strangers can't knock the coordinator over). Against 92656e7: a
// replayed URL token (a +-10 min bearer token) took over a victim's id and its OFFERs; queues for absent ids
// were capped in messages, not bytes (~3.8 GB worst case); a peer that never read its socket grew the server
// by 47 -> 522 MB in 5 s; the per-peer limit throttled an honest peer answering 20 others.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, sleep, startTestCoordinator } from '../testing/coordinator.ts';
import { newIdentity } from '../testing/mesh-client.ts';
import { keyedToken, openSignal, type Signal } from '../testing/signal-client.ts';
import type { WsInbox } from '../testing/ws-inbox.ts';
import { RawClient } from '../testing/raw-client.ts';
import { QUEUE_BYTES_PER_PEER, QUEUE_BYTES_TOTAL } from './realm.ts';

async function opened(inbox: WsInbox<Signal>): Promise<WsInbox<Signal>> {
  const first = await inbox.next(() => true, 'the first frame');
  assert.equal(first.type, 'OPEN', `expected OPEN, got ${JSON.stringify(first)}`);
  return inbox;
}

describe('PeerJS signalling: strangers', () => {
  it('refuses a replayed token: the victim keeps its id and its offers', async () => {
    const c = await startTestCoordinator();
    try {
      const victim = await newIdentity();
      const token = await keyedToken(c.url, victim);
      const live = await opened(openSignal(c.url, victim.peerId, token));
      const thief = openSignal(c.url, victim.peerId, token); // the same token, read off the victim's URL
      const refused = await thief.next(() => true);
      assert.equal(refused.type, 'ERROR');
      assert.match(refused.payload?.msg ?? '', /nonce was used already/);
      await thief.closed;
      const caller = await opened(openSignal(c.url, 'caller', 't'));
      caller.send({ type: 'OFFER', dst: victim.peerId, payload: { sdp: 'v=0' } });
      assert.equal((await live.nextOfType('OFFER')).src, 'caller');
      // The victim itself reconnects with a fresh nonce, as the SDK does.
      const again = await opened(openSignal(c.url, victim.peerId, await keyedToken(c.url, victim)));
      assert.equal((await live.closed).code, 4000);
      await Promise.all([again.close(), caller.close()]);
    } finally {
      await c.close();
    }
  });

  it('caps queues for absent peers in bytes: big offers to made-up ids get EXPIRE instead of memory', async () => {
    const c = await startTestCoordinator({ expireMs: 60_000, ratePerSec: 100_000, rateBurst: 100_000 });
    try {
      const senders = await Promise.all(Array.from({ length: 4 }, (_, i) => opened(openSignal(c.url, `flood${i}`, 't'))));
      const sdp = 'x'.repeat(60_000);
      let expired = 0;
      for (const s of senders) {
        for (let i = 0; i < 120; i++) s.send({ type: 'OFFER', dst: `ghost${i % 20}`, payload: { sdp } });
      }
      // expireMs is 60 s here, so any EXPIRE within a few seconds comes from the caps (under load the ~29 MB
      // of offers take longer than 300 ms to read).
      const countExpired = () => senders.reduce((n, s) => n + s.frames.filter((f) => f.type === 'EXPIRE').length, 0);
      await eventually('an EXPIRE from the caps', () => countExpired() > 0, 5000).catch(() => undefined);
      expired = countExpired();
      assert.ok(c.signalling.realm.queuedChars <= QUEUE_BYTES_TOTAL, `${c.signalling.realm.queuedChars} characters queued`);
      assert.ok(c.signalling.realm.queuedChars <= 20 * QUEUE_BYTES_PER_PEER);
      assert.ok(expired > 0, 'senders past the caps hear EXPIRE at once');
      await Promise.all(senders.map((s) => s.close()));
    } finally {
      await c.close();
    }
  });

  it('closes a peer that never reads its socket instead of buffering for it', async () => {
    const c = await startTestCoordinator({ ratePerSec: 100_000, rateBurst: 100_000 });
    try {
      const sink = await RawClient.connect(c.port);
      await sink.handshake('/peerjs/peerjs?key=peerjs&id=sink&token=t&version=1.5.5');
      // The sink reads nothing from now on.
      const senders = await Promise.all(Array.from({ length: 10 }, (_, i) => opened(openSignal(c.url, `s${i}`, 't'))));
      const sdp = 'y'.repeat(60_000);
      const rssBefore = Deno.memoryUsage().rss;
      const until = Date.now() + 10_000;
      while (Date.now() < until && c.signalling.realm.clients.has('sink')) {
        for (const s of senders) s.send({ type: 'OFFER', dst: 'sink', payload: { sdp } });
        await sleep(20);
      }
      assert.equal(c.signalling.realm.clients.has('sink'), false, 'the slow reader was dropped');
      assert.ok(Deno.memoryUsage().rss - rssBefore < 200 * 1024 * 1024);
      // The senders learn the peer left, and keep their own sessions.
      assert.ok(senders.some((s) => s.frames.some((f) => f.type === 'LEAVE' && f.src === 'sink')));
      senders[0]!.send({ type: 'OFFER', dst: 's1', payload: {} });
      assert.equal((await senders[1]!.nextOfType('OFFER')).src, 's0');
      sink.close();
      await Promise.all(senders.map((s) => s.close()));
    } finally {
      await c.close();
    }
  });

  it('lets an honest peer answer twenty askers at their full rate, while a flood at one peer is cut', async () => {
    const rate = 20;
    const c = await startTestCoordinator({ ratePerSec: rate, rateBurst: rate });
    try {
      const honest = await opened(openSignal(c.url, 'honest', 't'));
      const askers = await Promise.all(Array.from({ length: 20 }, (_, i) => opened(openSignal(c.url, `asker${i}`, 't'))));
      // Each asker sends `rate` questions (its whole burst); the honest peer answers every one of them:
      // 400 messages from one peer, twenty times its per-destination rate.
      for (const a of askers) for (let k = 0; k < rate; k++) a.send({ type: 'CANDIDATE', dst: 'honest', payload: { k } });
      let answered = 0;
      for (let n = 0; n < 20 * rate; n++) {
        const q = await honest.nextOfType('CANDIDATE');
        honest.send({ type: 'CANDIDATE', dst: q.src, payload: { re: q.payload } });
        answered++;
      }
      await sleep(200);
      const got = askers.reduce((n, a) => n + a.frames.filter((f) => f.type === 'CANDIDATE').length, 0);
      assert.equal(answered, 20 * rate);
      assert.equal(got, 20 * rate, 'every answer was relayed');
      assert.equal(honest.frames.filter((f) => f.type === 'ERROR').length, 0, 'the honest peer was never rate limited');
      // One asker flooding the honest peer is cut at its own per-destination budget.
      for (let k = 0; k < 3 * rate; k++) askers[0]!.send({ type: 'CANDIDATE', dst: 'honest', payload: { flood: k } });
      const err = await askers[0]!.nextOfType('ERROR');
      assert.equal(err.payload?.code, 'rate-limited');
      await Promise.all([honest, ...askers].map((s) => s.close()));
    } finally {
      await c.close();
    }
  });
});
