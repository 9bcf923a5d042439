import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startNats } from '../testing/nats.ts';
import { eventually, sleep } from '../testing/coordinator.ts';
import { sharedPostgres, stopSharedPostgres, testDatabase } from '../testing/postgres.ts';
import { type Bus, type BusErrorKind, type BusMessage, MAX_BUS_PAYLOAD_BYTES, openBus } from './index.ts';

/** One engine under test: how to get a fresh bus URL, and how to clean up. */
interface Engine {
  name: string;
  setup(): Promise<string>;
  teardown(): Promise<void>;
}

const drops: { name: string; url?: string; stop?: () => Promise<void> }[] = [];
const ENGINES: Engine[] = [
  {
    name: 'nats',
    async setup() {
      const s = await startNats();
      drops.push({ name: 'nats', stop: s.stop });
      return s.url;
    },
    async teardown() {},
  },
  {
    name: 'postgres',
    async setup() {
      const db = await testDatabase();
      drops.push({ name: 'pg', stop: db.drop });
      return db.url;
    },
    async teardown() {
      await stopSharedPostgres();
    },
  },
];

for (const engine of ENGINES) {
  describe(`bus (${engine.name})`, () => {
    let url = '';
    const open: Bus[] = [];
    const connect = async (opts: Parameters<typeof openBus>[2] = {}): Promise<Bus> => {
      const bus = await openBus(url, '', opts);
      open.push(bus);
      return bus;
    };
    before(async () => {
      if (engine.name === 'postgres') await sharedPostgres();
      url = await engine.setup();
    });
    after(async () => {
      await Promise.all(open.map((b) => b.close()));
      for (const d of drops.splice(0)) await d.stop?.();
      await engine.teardown();
    });

    it('delivers JSON and bytes from other connections in the order published', async () => {
      const [pub, sub] = [await connect(), await connect()];
      const got: unknown[] = [];
      await sub.subscribe('t.order', (m) => void got.push(m.json()));
      const bytes: number[] = [];
      await sub.subscribe('t.bytes', (m) => void bytes.push(...m.bytes()));
      for (let i = 0; i < 500; i++) assert.equal(pub.publishJson('t.order', { i, s: 'é'.repeat(i % 7) }), true);
      pub.publish('t.bytes', new Uint8Array([0, 1, 2, 255]));
      await pub.flush();
      await eventually('500 messages', () => got.length === 500 && bytes.length === 4);
      assert.deepEqual(got.map((m) => (m as { i: number }).i), [...Array(500).keys()]);
      assert.deepEqual(bytes, [0, 1, 2, 255]);
    });

    it('carries messages up to the payload cap (split under the 8000-byte NOTIFY cap) and refuses larger ones', async () => {
      const [pub, sub] = [await connect(), await connect()];
      const got: BusMessage[] = [];
      await sub.subscribe('t.big', (m) => void got.push(m));
      const text = JSON.stringify({ sdp: 'v=0 ☃ '.repeat(20_000) }).slice(0, 100_000);
      const bin = crypto.getRandomValues(new Uint8Array(30_000));
      const nul = 'a\0b';
      pub.publish('t.big', text);
      pub.publish('t.big', bin);
      pub.publish('t.big', nul);
      pub.publish('t.big', 'x'.repeat(7_890));
      assert.throws(() => pub.publish('t.big', new Uint8Array(MAX_BUS_PAYLOAD_BYTES + 1)), RangeError);
      assert.throws(() => pub.publish('t.*', 'wild'), TypeError);
      await pub.flush();
      await eventually('4 messages', () => got.length === 4);
      assert.equal(got[0]!.text(), text);
      assert.deepEqual(got[1]!.bytes(), bin);
      assert.equal(got[2]!.text(), nul);
      assert.equal(got[3]!.text().length, 7_890);
    });

    it('drops, counts and reports what a slow subscriber cannot hold instead of queueing it', async () => {
      const errors: BusErrorKind[] = [];
      const [pub, sub] = [await connect(), await connect({ onError: (k) => errors.push(k) })];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let handled = 0;
      const s = await sub.subscribe('t.slow', async () => {
        handled++;
        await gate;
      }, { maxPending: 10, maxPendingBytes: 1 << 20 });
      for (let i = 0; i < 200; i++) pub.publishJson('t.slow', { i });
      await pub.flush();
      await eventually('drops', () => s.dropped >= 189);
      assert.equal(handled, 1);
      release();
      await eventually('the queued ten', () => handled === 11);
      await sleep(50);
      assert.equal(handled, 11);
      assert.equal(s.dropped, 189);
      assert.equal(errors.filter((k) => k === 'subscriber-full').length, 189);
      assert.equal(sub.stats().dropped, 189);
    });

    it('refuses to publish past the outbound cap, and after close', async () => {
      const pub = await connect({ maxOutboundBytes: 5_000 });
      let refused = 0;
      for (let i = 0; i < 50; i++) if (!pub.publish('t.cap', 'y'.repeat(1_000))) refused++;
      assert.ok(refused >= 40, `refused ${refused}`);
      await pub.flush();
      assert.equal(pub.publish('t.cap', 'after flush'), true);
      await pub.close();
      await pub.close();
      assert.equal(pub.publish('t.cap', 'closed'), false);
    });

    it('stops delivering after unsubscribe', async () => {
      const [pub, sub] = [await connect(), await connect()];
      let n = 0;
      const s = await sub.subscribe('t.unsub', () => void n++);
      pub.publish('t.unsub', 'one');
      await eventually('one', () => n === 1);
      await s.unsubscribe();
      pub.publish('t.unsub', 'two');
      await pub.flush();
      await sleep(100);
      assert.equal(n, 1);
    });
  });
}
