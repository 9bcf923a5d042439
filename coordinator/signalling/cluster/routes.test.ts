import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RouteCache } from './_routes.ts';

describe('RouteCache', () => {
  it('holds frames for one destination behind its lookup and releases them in order', async () => {
    let answer!: (v: string | null) => void;
    let lookups = 0;
    const cache = new RouteCache(() => (lookups++, new Promise((r) => (answer = r))), 1000);
    const got: string[] = [];
    for (const f of ['offer', 'cand1', 'cand2']) assert.equal(cache.resolve('bob', (i) => got.push(`${f}@${i}`)), true);
    assert.equal(lookups, 1);
    answer('inst-b');
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(got, ['offer@inst-b', 'cand1@inst-b', 'cand2@inst-b']);
    cache.resolve('bob', (i) => got.push(`cached@${i}`)); // answered from the cache, at once
    assert.equal(got.at(-1), 'cached@inst-b');
    assert.equal(lookups, 1);
  });

  it('caches only positive answers, for its TTL, and forgets a peer that left that instance', async () => {
    let now = 0;
    let lookups = 0;
    const cache = new RouteCache((peer) => (lookups++, Promise.resolve(peer === 'ghost' ? null : 'inst-a')), 100, () => now);
    const ask = (peer: string) => new Promise<string | null>((r) => cache.resolve(peer, r));
    assert.equal(await ask('ghost'), null);
    assert.equal(await ask('ghost'), null);
    assert.equal(lookups, 2);
    assert.equal(await ask('amy'), 'inst-a');
    assert.equal(await ask('amy'), 'inst-a');
    assert.equal(lookups, 3);
    now = 150;
    await ask('amy');
    assert.equal(lookups, 4);
    cache.forget('amy', 'inst-other');
    await ask('amy');
    assert.equal(lookups, 4);
    cache.forget('amy', 'inst-a');
    await ask('amy');
    assert.equal(lookups, 5);
  });

  it('refuses frames past its bounds instead of queueing them', () => {
    const cache = new RouteCache(() => new Promise(() => {}));
    let refused = 0;
    for (let i = 0; i < 300; i++) if (!cache.resolve('slow', () => {})) refused++;
    assert.equal(refused, 300 - 256);
    assert.equal(cache.waiting, 256);
  });
});
