import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEvictions, type EvictionEntry } from './_lru-eviction.ts';

const entry = (hash: string, size: number, lastUsed: number): EvictionEntry => ({ hash, size, lastUsed });

describe('result store eviction', () => {
  it('chooseEvictions() evicts nothing within both bounds', () => {
    assert.deepEqual(chooseEvictions([entry('a', 10, 1), entry('b', 10, 2)], { maxBytes: 20, maxEntries: 2 }), []);
  });

  it('chooseEvictions() drops the least recently used until the bytes fit', () => {
    const entries = [entry('new', 40, 30), entry('old', 40, 10), entry('mid', 40, 20)];
    assert.deepEqual(chooseEvictions(entries, { maxBytes: 80, maxEntries: 10 }), ['old']);
    assert.deepEqual(chooseEvictions(entries, { maxBytes: 79, maxEntries: 10 }), ['old', 'mid']);
  });

  it('chooseEvictions() drops the least recently used until the count fits', () => {
    const entries = [entry('c', 1, 3), entry('a', 1, 1), entry('b', 1, 2), entry('d', 1, 4)];
    assert.deepEqual(chooseEvictions(entries, { maxBytes: 1e9, maxEntries: 2 }), ['a', 'b']);
  });

  it('chooseEvictions() never evicts the entry being kept, even when it is the oldest', () => {
    const entries = [entry('keep', 50, 1), entry('x', 50, 2), entry('y', 50, 3)];
    assert.deepEqual(chooseEvictions(entries, { maxBytes: 100, maxEntries: 10 }, 'keep'), ['x']);
    assert.deepEqual(chooseEvictions([entry('keep', 50, 1)], { maxBytes: 10, maxEntries: 10 }, 'keep'), [], 'nothing else to drop');
  });

  it('chooseEvictions() breaks ties in last use by hash, so the choice does not depend on input order', () => {
    const a = [entry('b', 1, 5), entry('a', 1, 5), entry('c', 1, 5)];
    assert.deepEqual(chooseEvictions(a, { maxBytes: 100, maxEntries: 1 }), ['a', 'b']);
    assert.deepEqual(chooseEvictions([...a].reverse(), { maxBytes: 100, maxEntries: 1 }), ['a', 'b']);
  });
});
