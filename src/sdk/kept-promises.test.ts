import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeptPromises } from './kept-promises.ts';

describe('KeptPromises', () => {
  it('makes a value once per key and shares it while pending', async () => {
    const kept = new KeptPromises<number>({ max: 2 });
    let made = 0;
    const make = () => Promise.resolve(++made);
    const [a, b] = await Promise.all([kept.get('k', make), kept.get('k', make)]);
    assert.equal(a, 1);
    assert.equal(b, 1);
    assert.equal(made, 1);
  });

  it('forgets a value whose making failed, so the next call makes it again', async () => {
    const kept = new KeptPromises<number>({ max: 2 });
    await assert.rejects(kept.get('k', () => Promise.reject(new Error('down'))), /down/);
    assert.equal(kept.size, 0);
    assert.equal(await kept.get('k', () => Promise.resolve(7)), 7);
  });

  it('drops the oldest past max and hands it to dropped; touch keeps the last used', async () => {
    const dropped: number[] = [];
    const fifo = new KeptPromises<number>({ max: 2, dropped: (p) => void p.then((v) => dropped.push(v)) });
    const lru = new KeptPromises<number>({ max: 2, touch: true });
    for (const kept of [fifo, lru]) {
      await kept.get('a', () => Promise.resolve(1));
      await kept.get('b', () => Promise.resolve(2));
      await kept.get('a', () => Promise.resolve(-1));
      await kept.get('c', () => Promise.resolve(3));
      assert.equal(kept.size, 2);
    }
    await Promise.resolve();
    assert.deepEqual(dropped, [1]);
    assert.equal(await fifo.get('b', () => Promise.resolve(-2)), 2);
    assert.equal(await lru.get('a', () => Promise.resolve(-1)), 1);
    assert.equal(await lru.get('b', () => Promise.resolve(20)), 20);
  });
});
