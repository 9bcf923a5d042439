import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../../testing/coordinator.ts';
import { startNats } from '../../testing/nats.ts';
import { sharedPostgres, stopSharedPostgres, testDatabase } from '../../testing/postgres.ts';
import type { DirectoryTiming, PeerDirectory } from './directory.ts';
import { openNatsDirectory } from './nats-directory.ts';
import { openPgDirectory } from './pg-directory.ts';

const TIMING: DirectoryTiming = { heartbeatMs: 100, ttlMs: 400 };

const ENGINES: { name: string; setup(): Promise<{ open(instance: string): Promise<PeerDirectory>; stop(): Promise<void> }> }[] = [
  {
    name: 'nats',
    setup: async () => {
      const s = await startNats();
      return { open: (i) => openNatsDirectory(s.url, i, TIMING), stop: s.stop };
    },
  },
  {
    name: 'postgres',
    setup: async () => {
      await sharedPostgres();
      const db = await testDatabase();
      return { open: (i) => openPgDirectory(db.url, i, TIMING), stop: async () => (await db.drop(), await stopSharedPostgres()) };
    },
  },
];

for (const engine of ENGINES) {
  describe(`peer directory (${engine.name})`, () => {
    let env: Awaited<ReturnType<(typeof engine)['setup']>>;
    const dirs: PeerDirectory[] = [];
    const open = async (instance: string) => {
      const d = await env.open(instance);
      dirs.push(d);
      await d.heartbeat();
      return d;
    };
    before(async () => {
      env = await engine.setup();
    });
    after(async () => {
      await Promise.all(dirs.map((d) => d.close()));
      await env.stop();
    });

    it('claims, refuses another token, lets the same token or a keyed claim take over, releases by epoch', async () => {
      const [a, b] = [await open('a1'), await open('b1')];
      const first = await a.claim({ peer: 'x y', tokenHash: 'h1', keyed: false });
      assert.ok(first.ok);
      assert.equal(await b.lookup('x y'), 'a1');
      assert.deepEqual(await b.claim({ peer: 'x y', tokenHash: 'h2', keyed: false }), { ok: false, holder: 'a1' });
      const same = await b.claim({ peer: 'x y', tokenHash: 'h1', keyed: false });
      assert.ok(same.ok && same.previous === 'a1' && same.epoch > (first.ok ? first.epoch : 0));
      const keyed = await a.claim({ peer: 'x y', tokenHash: 'h3', keyed: true });
      assert.ok(keyed.ok && keyed.previous === 'b1');
      await b.release('x y', same.ok ? same.epoch : 0); // an older claim's release deletes nothing
      assert.equal(await b.lookup('x y'), 'a1');
      await a.release('x y', keyed.ok ? keyed.epoch : 0);
      assert.equal(await b.lookup('x y'), null);
    });

    it('lets exactly one of many concurrent unkeyed claims win', async () => {
      const [a, b] = [await open('a2'), await open('b2')];
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).claim({ peer: 'contested', tokenHash: `t${i}`, keyed: false })));
      assert.equal(results.filter((r) => r.ok).length, 1);
    });

    it('stops resolving a dead instance after the TTL, at once after leave, and says when a heartbeat lapsed', async () => {
      const [a, dead, leaving] = [await open('a3'), await open('dead3'), await open('leaving3')];
      assert.ok((await dead.claim({ peer: 'orphan', tokenHash: 'h', keyed: false })).ok);
      assert.ok((await leaving.claim({ peer: 'goner', tokenHash: 'h', keyed: false })).ok);
      assert.equal(await a.lookup('orphan'), 'dead3');
      await leaving.leave();
      assert.equal(await a.lookup('goner'), null);
      for (let t = 0; t < TIMING.ttlMs + 300; t += TIMING.heartbeatMs) {
        await a.heartbeat();
        await sleep(TIMING.heartbeatMs);
      }
      assert.equal(await a.lookup('orphan'), null);
      const taken = await a.claim({ peer: 'orphan', tokenHash: 'other', keyed: false });
      assert.ok(taken.ok && taken.previous === null);
      assert.equal(await dead.heartbeat(), false);
      assert.equal(await dead.heartbeat(), true);
    });
  });
}
