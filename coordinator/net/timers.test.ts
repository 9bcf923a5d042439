import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pendingDeadlines, schedule } from './timers.ts';

describe('timers', () => {
  it('schedule() fires deadlines in time order, skips cancelled ones and leaves none pending', async () => {
    const fired: string[] = [];
    const before = pendingDeadlines();
    const c = schedule(20, () => fired.push('c'));
    schedule(40, () => fired.push('d'));
    schedule(10, () => fired.push('b'));
    schedule(0, () => fired.push('a'));
    const gone = schedule(5, () => fired.push('cancelled'));
    gone.cancel();
    gone.cancel();
    // A deadline added from a firing one fires too.
    schedule(15, () => schedule(0, () => fired.push('from-b')));
    assert.equal(pendingDeadlines(), before + 5);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(fired.filter((x) => x !== 'from-b'), ['a', 'b', 'c', 'd']);
    assert.ok(fired.includes('from-b'));
    c.cancel(); // after firing: harmless
    assert.equal(pendingDeadlines(), before);
  });

  it('keeps heap order through many random adds and cancels', async () => {
    const fired: number[] = [];
    const handles = Array.from({ length: 200 }, (_, i) => {
      const at = (i * 37) % 50;
      return { at, h: schedule(at, () => fired.push(at)) };
    });
    for (let i = 0; i < handles.length; i += 3) handles[i]!.h.cancel();
    await new Promise((r) => setTimeout(r, 100));
    const want = handles.filter((_, i) => i % 3 !== 0).map((x) => x.at);
    assert.equal(fired.length, want.length);
    assert.deepEqual(fired, [...fired].sort((a, b) => a - b));
  });
});
