/**
 * The cluster's rows in a market store (track records looked up by peer, instances' heartbeats, the contributor
 * registry), as part of the suite every engine runs (market-store-suite.ts calls it inside its `describe`).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { cpuCaps, gpuCaps } from '../testing/fixtures.ts';
import type { MarketStore, StoredContributor, StoredCredibility } from './types.ts';

function contributor(peerId: string, home: string, more: Partial<StoredContributor> = {}): StoredContributor {
  return { peerId, home, caps: gpuCaps(1 << 27, 123.25), askPrice: 0.75, maxConcurrent: 3, state: 'active', network: 'ip:10.0.0.0/24', placement: 'eu', registeredAt: 1_700_000_000_123, ...more };
}

function record(agreements: number): StoredCredibility {
  return { agreements, failures: 1, recentFailures: 0, quarantinedUntil: 0, paid: 30, speed: 1234.5, seen: 99 };
}

async function rows(store: MarketStore): Promise<StoredContributor[]> {
  const out: StoredContributor[] = [];
  for await (const r of store.contributors()) out.push(r);
  return out.sort((a, b) => (a.peerId < b.peerId ? -1 : 1));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Adds the cluster tests; `withStore` runs a test body on a fresh store. */
export function clusterSuite(withStore: (fn: (s: MarketStore) => Promise<void>) => Promise<void>): void {
  it('credibilityOf() returns the records of the peers asked for, absent when none is stored', () =>
    withStore(async (store) => {
      await store.putCredibility(Array.from({ length: 25 }, (_, i) => [`mw${i}`, record(i)] as const));
      const asked = ['mw3', 'mw24', 'mwnone', ...Array.from({ length: 12 }, (_, i) => `mw${i + 10}`)];
      const got = await store.credibilityOf(asked);
      assert.equal(got.size, 14);
      assert.deepEqual(got.get('mw24'), record(24));
      assert.equal(got.has('mwnone'), false);
      assert.equal(got.has('mw0'), false, 'only the peers asked for');
      assert.equal((await store.credibilityOf([])).size, 0);
    }));

  it('heartbeat() records an instance whose age grows until its next heartbeat', () =>
    withStore(async (store) => {
      assert.deepEqual(await store.instances(), []);
      await store.heartbeat('i1', 'https://a.example');
      await store.heartbeat('i2', 'https://b.example');
      await sleep(250);
      await store.heartbeat('i1', 'https://a2.example');
      const byId = new Map((await store.instances()).map((i) => [i.id, i]));
      assert.equal(byId.size, 2);
      assert.equal(byId.get('i1')!.url, 'https://a2.example');
      assert.ok(byId.get('i2')!.ageMs >= 240, `i2 aged: ${byId.get('i2')!.ageMs}`);
      assert.ok(byId.get('i1')!.ageMs >= 0 && byId.get('i1')!.ageMs < 200, `i1 renewed: ${byId.get('i1')!.ageMs}`);
    }));

  it('forgetInstance() drops the instance and its contributors, and no one else\'s', () =>
    withStore(async (store) => {
      await store.heartbeat('i1', 'https://a.example');
      await store.heartbeat('i2', 'https://b.example');
      await store.putContributors([contributor('p1', 'i1'), contributor('p2', 'i1'), contributor('p3', 'i2')]);
      await store.forgetInstance('i1');
      assert.deepEqual((await store.instances()).map((i) => i.id), ['i2']);
      assert.deepEqual((await rows(store)).map((r) => r.peerId), ['p3']);
      await store.forgetInstance('nope');
      assert.equal((await store.instances()).length, 1);
    }));

  it('putContributors() replaces a row whose home changed; dropContributors(home) keeps a moved peer\'s row', () =>
    withStore(async (store) => {
      await store.putContributors([contributor('p1', 'i1'), contributor('p2', 'i1', { caps: cpuCaps(), state: 'paused' })]);
      const moved = contributor('p1', 'i2', { registeredAt: 1_700_000_009_999, askPrice: 1e-7, maxConcurrent: 1, network: 'ip:10.0.1.0/24' });
      await store.putContributors([moved]);
      assert.deepEqual(await rows(store), [moved, contributor('p2', 'i1', { caps: cpuCaps(), state: 'paused' })]);
      await store.dropContributors('i1', ['p1', 'p2', 'p9']);
      assert.deepEqual(await rows(store), [moved]);
      await store.dropContributors('i2', []);
      await store.dropContributors('i2', ['p1']);
      assert.deepEqual(await rows(store), []);
    }));

  it('contributors() lists more rows than one page', () =>
    withStore(async (store) => {
      const many = Array.from({ length: 1_234 }, (_, i) => contributor(`p${String(i).padStart(4, '0')}`, `i${i % 3}`));
      await store.putContributors(many);
      assert.deepEqual(await rows(store), many);
      await store.putCredibility(many.map((c, i) => [c.peerId, record(i)] as const));
      let n = 0;
      for await (const [id, r] of store.credibility()) assert.equal(r.agreements, Number(id.slice(1)), `record ${n++}`);
      assert.equal(n, 1_234);
    }));
}
