import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { COALESCE_BYTES, ConnWriter } from './conn-writer.ts';

/** A sink that accepts at most `step` bytes per write and can be paused. */
function sink(step = Infinity) {
  const writes: Uint8Array[] = [];
  let gate = Promise.resolve();
  let open = () => {};
  return {
    writes,
    pause: () => (gate = new Promise((r) => (open = r))),
    resume: () => open(),
    write: async (p: Uint8Array) => {
      await gate;
      const n = Math.min(step, p.length);
      writes.push(p.slice(0, n));
      return n;
    },
  };
}

describe('ConnWriter', () => {
  it('writes in order, joins small chunks, finishes partial writes and counts queued bytes', async () => {
    const s = sink(1000);
    const w = new ConnWriter(s, { timeoutMs: 0, onStall: () => {} });
    s.pause();
    for (let i = 0; i < 10; i++) w.write(new Uint8Array(300).fill(i));
    assert.equal(w.queued, 3000);
    s.resume();
    assert.equal(await w.drain(), true);
    assert.equal(w.queued, 0);
    const all = new Uint8Array(s.writes.reduce((n, c) => n + c.length, 0));
    s.writes.reduce((off, c) => (all.set(c, off), off + c.length), 0);
    assert.deepEqual([...all].filter((_, i) => i % 300 === 0), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(s.writes.length <= 4, `${s.writes.length} writes for 3000 bytes at 1000 per write`);
    assert.ok(COALESCE_BYTES >= 3000);
  });

  it('drops unstarted chunks but not the one in flight, and reports a stalled write once', async () => {
    const s = sink();
    let stalls = 0;
    const w = new ConnWriter(s, { timeoutMs: 50, onStall: () => stalls++ });
    s.pause();
    w.write(new Uint8Array(COALESCE_BYTES)); // in flight, blocked
    await new Promise((r) => setTimeout(r, 0));
    w.write(new Uint8Array(10));
    w.write(new Uint8Array(20));
    assert.equal(w.dropQueued(), 30);
    assert.equal(w.queued, COALESCE_BYTES);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(stalls, 1);
    const drained = w.drain();
    w.close();
    assert.equal(await drained, false);
    assert.equal(w.write(new Uint8Array(1)), false);
    s.resume();
  });
});
