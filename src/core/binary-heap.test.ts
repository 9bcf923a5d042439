import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BinaryHeap } from './binary-heap.ts';

describe('BinaryHeap', () => {
  it('pops in order whether built at once or pushed one by one, with ties kept stable by a second key', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const items = Array.from({ length: 500 }, (_, seq) => ({ at: Math.floor(rand() * 50), seq }));
    const before = (a: { at: number; seq: number }, b: { at: number; seq: number }) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
    const sorted = [...items].sort((a, b) => a.at - b.at || a.seq - b.seq);
    const built = new BinaryHeap(before, [...items]);
    const pushed = new BinaryHeap(before);
    for (const x of items) pushed.push(x);
    for (const heap of [built, pushed]) {
      assert.equal(heap.size, 500);
      assert.deepEqual(heap.peek(), sorted[0]);
      const out = [];
      while (heap.size > 0) out.push(heap.pop()!);
      assert.deepEqual(out, sorted);
      assert.equal(heap.pop(), undefined);
    }
  });
});
