import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, sleep, startTestCoordinator } from '../../testing/coordinator.ts';
import { keyedToken, openSignal, type Signal } from '../../testing/signal-client.ts';
import { newIdentity } from '../../testing/mesh-client.ts';
import type { WsInbox } from '../../testing/ws-inbox.ts';
import type { RunningCoordinator } from '../../server.ts';
import { startNats } from '../../testing/nats.ts';
import { RawClient } from '../../testing/raw-client.ts';
import { sharedPostgres, stopSharedPostgres, testDatabase } from '../../testing/postgres.ts';

const TIMING = { heartbeatMs: 100, ttlMs: 500 };
const EXPIRE_MS = 400;

/** How each engine's pair of instances is configured; `stop` frees the server or database. */
const ENGINES: { name: string; setup(): Promise<{ flags: { bus: string; store?: string }; stop(): Promise<void> }>; done(): Promise<void> }[] = [
  {
    name: 'nats',
    setup: async () => {
      const s = await startNats();
      return { flags: { bus: s.url }, stop: s.stop };
    },
    done: async () => {},
  },
  {
    name: 'postgres',
    setup: async () => {
      await sharedPostgres();
      const db = await testDatabase();
      return { flags: { bus: 'postgres', store: db.url }, stop: db.drop };
    },
    done: stopSharedPostgres,
  },
];

async function opened(inbox: WsInbox<Signal>): Promise<WsInbox<Signal>> {
  const first = await inbox.next(() => true, 'the first frame');
  assert.equal(first.type, 'OPEN', `expected OPEN, got ${JSON.stringify(first)}`);
  return inbox;
}

for (const engine of ENGINES) {
  describe(`cross-instance signalling (${engine.name})`, () => {
    let a: RunningCoordinator;
    let b: RunningCoordinator;
    let stop: () => Promise<void>;
    const inboxes: WsInbox<Signal>[] = [];
    const open = (c: RunningCoordinator, id: string, token: string) => {
      const inbox = openSignal(c.url, id, token);
      inboxes.push(inbox);
      return inbox;
    };

    before(async () => {
      const s = await engine.setup();
      stop = s.stop;
      const common = { ...s.flags, expireMs: EXPIRE_MS, ratePerSec: 20, rateBurst: 40, clusterTiming: TIMING };
      a = await startTestCoordinator({ ...common, instanceId: 'inst-a' });
      b = await startTestCoordinator({ ...common, instanceId: 'inst-b' });
    });
    after(async () => {
      await Promise.all(inboxes.map((i) => i.close()));
      await a.close();
      await b.close();
      await stop();
      await engine.done();
    });

    it('relays OFFER, ANSWER and CANDIDATE between instances with src forced and order kept', async () => {
      const alice = await opened(open(a, 'alice', 'ta'));
      const bob = await opened(open(b, 'bob', 'tb'));
      alice.send({ type: 'OFFER', src: 'mallory', dst: 'bob', payload: { sdp: 'v=0 offer', connectionId: 'dc_1' } });
      const offer = await bob.nextOfType('OFFER');
      assert.deepEqual(offer, { type: 'OFFER', src: 'alice', dst: 'bob', payload: { sdp: 'v=0 offer', connectionId: 'dc_1' } });
      bob.send({ type: 'ANSWER', dst: 'alice', payload: { sdp: 'v=0 answer' } });
      assert.equal((await alice.nextOfType('ANSWER')).src, 'bob');
      for (let i = 0; i < 10; i++) alice.send({ type: 'CANDIDATE', dst: 'bob', payload: { candidate: `c${i}`, pad: 'x'.repeat(150) } });
      const got: string[] = [];
      for (let i = 0; i < 10; i++) got.push(String(((await bob.nextOfType('CANDIDATE')).payload as { candidate: string }).candidate));
      assert.deepEqual(got, [...Array(10).keys()].map((i) => `c${i}`));
      assert.ok(a.metrics.get('cluster_frames', 'forwarded') >= 11);
      assert.ok(b.metrics.get('cluster_frames', 'received') >= 10);
      assert.match(a.metrics.render(), /meshwork_cluster_frames_total\{kind="forwarded"\} \d+/);
    });

    it('queues for an id on no instance: EXPIRE after the timeout, or delivery when it opens elsewhere', async () => {
      const sender = await opened(open(a, 'sender1', 'ts'));
      sender.send({ type: 'OFFER', dst: 'nobody', payload: { sdp: 'x' } });
      const expire = await sender.nextOfType('EXPIRE', 3000);
      assert.deepEqual(expire, { type: 'EXPIRE', src: 'nobody', dst: 'sender1' });
      sender.send({ type: 'OFFER', dst: 'latecomer', payload: { sdp: 'early' } });
      await sleep(50);
      const late = await opened(open(b, 'latecomer', 'tl'));
      const offer = await late.nextOfType('OFFER', 3000);
      assert.equal(offer.src, 'sender1');
      await sleep(EXPIRE_MS + 200);
      assert.equal(sender.frames.filter((f) => f.type === 'EXPIRE').length, 0);
    });

    it('moves a keyed id from A to B (A closes its socket) and refuses an unkeyed id with another token', async () => {
      const me = await newIdentity();
      const onA = await opened(open(a, me.peerId, await keyedToken(a.url, me)));
      const onB = await opened(open(b, me.peerId, await keyedToken(b.url, me)));
      assert.equal((await onA.closed).code, 4000);
      const friend = await opened(open(a, 'friend', 'tf'));
      friend.send({ type: 'OFFER', dst: me.peerId, payload: { sdp: 'to the moved id' } });
      assert.equal((await onB.nextOfType('OFFER')).src, 'friend');

      await opened(open(a, 'dave', 'tok1'));
      const thief = open(b, 'dave', 'tok2');
      assert.equal((await thief.next(() => true)).type, 'ID-TAKEN');
      assert.equal(b.metrics.get('cluster_frames', 'id-taken'), 1);
      await opened(open(b, 'dave', 'tok1')); // the same token reconnecting elsewhere takes over
    });

    it('cuts a flooding peer at its own instance before the bus', async () => {
      const target = await opened(open(b, 'target', 'tt'));
      const flooder = await opened(open(a, 'flooder', 'tx'));
      for (let i = 0; i < 300; i++) flooder.send({ type: 'CANDIDATE', dst: 'target', payload: { i } });
      assert.equal((await flooder.next((f) => f.type === 'ERROR')).payload?.code, 'rate-limited');
      await sleep(300);
      const got = target.frames.filter((f) => f.type === 'CANDIDATE').length;
      assert.ok(got >= 40 && got <= 60, `target got ${got} of 300`);
    });

    it('tells senders on another instance LEAVE when the destination stops reading and is dropped', async () => {
      const sink = await RawClient.connect(b.port);
      await sink.handshake('/peerjs/peerjs?key=peerjs&id=sink&token=t&version=1.5.5');
      const senders = await Promise.all(Array.from({ length: 6 }, (_, i) => opened(open(a, `s${i}`, 't'))));
      await eventually('the sink on B', () => b.signalling.realm.clients.has('sink'));
      const sdp = 'y'.repeat(60_000);
      const until = Date.now() + 15_000;
      while (Date.now() < until && b.signalling.realm.clients.has('sink')) {
        for (const s of senders) s.send({ type: 'OFFER', dst: 'sink', payload: { sdp } });
        await sleep(20);
      }
      assert.equal(b.signalling.realm.clients.has('sink'), false, 'the slow reader was dropped');
      // The senders' own sockets hold megabytes of offers, so the LEAVE behind them may take a while on a loaded machine.
      await eventually('a LEAVE across instances', () => senders.some((s) => s.frames.some((f) => f.type === 'LEAVE' && f.src === 'sink')), 20_000);
      sink.close();
    });

    it('stops routing to an instance that died once its entries expire', async () => {
      const alice = await opened(open(a, 'alice2', 'ta2'));
      await opened(open(b, 'bob2', 'tb2'));
      alice.send({ type: 'OFFER', dst: 'bob2', payload: { sdp: 'before' } });
      await eventually('a relay to B', () => b.metrics.get('cluster_frames', 'received') > 0);
      await b.cluster!.halt(); // a crash: no goodbye, B's entries stay until its heartbeat lapses
      await sleep(TIMING.ttlMs + TIMING.heartbeatMs + 200);
      alice.send({ type: 'OFFER', dst: 'bob2', payload: { sdp: 'after' } });
      assert.deepEqual(await alice.nextOfType('EXPIRE', 3000), { type: 'EXPIRE', src: 'bob2', dst: 'alice2' });
      await opened(open(a, 'bob2', 'another-token')); // a dead holder does not keep the id
    });
  });
}
