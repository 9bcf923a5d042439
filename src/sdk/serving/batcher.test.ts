import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type BatcherOptions, ContinuousBatcher } from './batcher.ts';

interface Req {
  id: string;
  items?: number;
  key?: string;
}

/** A batcher whose batches wait until the test releases them; records each batch's request ids. */
function gated(over: Partial<BatcherOptions<Req, string>> = {}) {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const batcher = new ContinuousBatcher<Req, string>({
    maxBatch: 4,
    maxWaitMs: 0,
    maxQueue: 64,
    maxPerClient: 16,
    items: (r) => r.items ?? 1,
    key: (r) => r.key ?? '',
    run: async (batch) => {
      batches.push(batch.map((r) => r.id));
      await new Promise<void>((resolve) => gates.push(resolve));
      return batch.map((r) => `out-${r.id}`);
    },
    ...over,
  });
  /** Lets the running batch finish and waits until the next one started (or the queue is empty). */
  const release = async () => {
    const before = batches.length;
    gates.shift()!();
    for (let i = 0; i < 50 && batches.length === before && batcher.stats.queued > 0; i++) await new Promise((r) => setTimeout(r, 1));
  };
  return { batcher, batches, release };
}

const ok = <T>(r: { result?: Promise<T> | undefined }) => {
  assert.ok(r.result, 'the request was queued');
  return r.result;
};

describe('ContinuousBatcher', () => {
  it('requests arriving while a batch runs join the next batch, up to maxBatch items', async () => {
    const { batcher, batches, release } = gated();
    const first = ok(batcher.submit('a', { id: '1' }));
    assert.deepEqual(batches, [['1']], 'an idle batcher with maxWaitMs 0 starts at once');
    const later = ['2', '3', '4', '5', '6'].map((id) => ok(batcher.submit(id === '6' ? 'b' : 'a', { id })));
    assert.equal(batcher.stats.queued, 5);
    await release();
    assert.equal(await first, 'out-1');
    assert.equal(batches.length, 2);
    assert.equal(batches[1]!.length, 4, 'the next batch is full: four of the five that arrived meanwhile');
    assert.ok(batches[1]!.includes('6'), 'the other client is not left behind the flood');
    await release();
    assert.equal(batches[2]!.length, 1);
    await release();
    assert.deepEqual(await Promise.all(later), ['out-2', 'out-3', 'out-4', 'out-5', 'out-6']);
    const s = batcher.stats;
    assert.deepEqual([s.batches, s.requests, s.items, s.largestBatch, s.queued], [3, 6, 6, 4, 0]);
  });

  it('an idle batcher waits up to maxWaitMs for more when the queue is short, and starts at once when it fills', async () => {
    const { batcher, batches, release } = gated({ maxWaitMs: 60_000 });
    const results = ['1', '2', '3'].map((id) => ok(batcher.submit('a', { id })));
    assert.deepEqual(batches, [], 'three of four items: it waits for a fourth');
    results.push(ok(batcher.submit('b', { id: '4' })));
    assert.deepEqual(batches, [['1', '4', '2', '3']], 'full: runs at once, round robin over clients');
    await release();
    assert.deepEqual(await Promise.all(results), ['out-1', 'out-2', 'out-3', 'out-4']);
    batcher.close(new Error('done'));
  });

  it('a short queue runs once maxWaitMs passed', async () => {
    const { batcher, batches, release } = gated({ maxWaitMs: 5 });
    const r = ok(batcher.submit('a', { id: '1' }));
    assert.deepEqual(batches, []);
    for (let i = 0; i < 5000 && batches.length === 0; i++) await new Promise((res) => setTimeout(res, 2));
    assert.deepEqual(batches, [['1']]);
    await release();
    assert.equal(await r, 'out-1');
  });

  it('a lone caller whose requests come further apart than maxWaitMs is not held back', async () => {
    const { batcher, batches, release } = gated({ maxWaitMs: 30 });
    const first = ok(batcher.submit('a', { id: '1' }));
    assert.deepEqual(batches, [], 'nothing known of arrivals yet: it waits for joiners');
    for (let i = 0; i < 5000 && batches.length === 0; i++) await new Promise((res) => setTimeout(res, 2));
    await release();
    await first;
    await new Promise((res) => setTimeout(res, 60)); // the next request comes twice maxWaitMs later
    const second = ok(batcher.submit('a', { id: '2' }));
    assert.deepEqual(batches, [['1'], ['2']], 'runs at once: waiting would only add latency');
    await release();
    assert.equal(await second, 'out-2');
  });

  it('counts items, not requests, against maxBatch, and never splits a request', async () => {
    const { batcher, batches, release } = gated();
    ok(batcher.submit('a', { id: 'x' }));
    const r = [ok(batcher.submit('a', { id: 'big', items: 3 })), ok(batcher.submit('b', { id: 'two', items: 2 })), ok(batcher.submit('c', { id: 'one' }))];
    await release();
    // 'a' opened the last batch, so 'b' opens this one: two plus one items, and three more would not fit.
    assert.deepEqual(batches[1], ['two', 'one'], 'the three-item request waits whole for the next batch');
    await release();
    assert.deepEqual(batches[2], ['big']);
    await release();
    await Promise.all(r);
    assert.throws(() => batcher.submit('a', { id: 'huge', items: 5 }), RangeError);
  });

  it('requests of different shapes never share a batch', async () => {
    const { batcher, batches, release } = gated();
    ok(batcher.submit('a', { id: 'warm' }));
    const r = [
      ok(batcher.submit('a', { id: 'w320', key: '320' })),
      ok(batcher.submit('b', { id: 'w640', key: '640' })),
      ok(batcher.submit('c', { id: 'w320b', key: '320' })),
    ];
    await release();
    await release();
    await release();
    await Promise.all(r);
    // 'b' opens the batch after 'a' did: its shape is that batch's; the two of the other shape go together next.
    assert.deepEqual(batches.slice(1), [['w640'], ['w320', 'w320b']]);
  });

  it('refuses past the per-client bound with a retry-after, while other clients still get in', async () => {
    const { batcher, release } = gated({ maxPerClient: 3, maxQueue: 5 });
    ok(batcher.submit('flood', { id: 'running' }));
    for (let i = 0; i < 3; i++) ok(batcher.submit('flood', { id: `f${i}` }));
    const refused = batcher.submit('flood', { id: 'f3' });
    assert.equal(refused.busy?.reason, 'client-queue-full');
    assert.ok(refused.busy!.retryAfterMs >= 1);
    ok(batcher.submit('other', { id: 'o1' }));
    ok(batcher.submit('other', { id: 'o2' }));
    assert.equal(batcher.submit('third', { id: 't1' }).busy?.reason, 'queue-full', 'the total bound holds too');
    assert.equal(batcher.stats.refused, 2);
    assert.equal(batcher.stats.queued, 5);
    await release();
    await release();
    await release();
  });

  it('a flooding client cannot starve another: each batch serves both while both have requests', async () => {
    const { batcher, batches, release } = gated({ maxBatch: 4, maxPerClient: 100, maxQueue: 200 });
    ok(batcher.submit('flood', { id: 'f-first' }));
    const all: Promise<string>[] = [];
    for (let i = 0; i < 40; i++) all.push(ok(batcher.submit('flood', { id: `f${i}` })));
    for (let i = 0; i < 3; i++) all.push(ok(batcher.submit('quiet', { id: `q${i}` })));
    for (let b = 0; b < 4; b++) await release();
    // Two clients, four slots: each batch takes two of each, so the quiet client's three requests are done within
    // two batches, though forty of the flood's were queued ahead of them.
    assert.deepEqual(batches.slice(1, 3).flat().filter((id) => id.startsWith('q')), ['q0', 'q1', 'q2']);
    assert.equal(batches[1]!.filter((id) => id.startsWith('q')).length, 2);
    for (let i = 0; i < 100 && (batcher.stats.queued > 0 || batches.length < 12); i++) await release();
    await release().catch(() => {});
    assert.equal((await Promise.all(all)).length, 43);
  });

  it('a failed batch fails its requests only, and the next batch runs', async () => {
    let calls = 0;
    const batcher = new ContinuousBatcher<Req, string>({
      maxBatch: 2,
      maxWaitMs: 0,
      maxQueue: 8,
      maxPerClient: 8,
      run: (batch) => (++calls === 1 ? Promise.reject(new Error('worker crashed')) : Promise.resolve(batch.map((r) => r.id))),
    });
    const a = ok(batcher.submit('a', { id: 'a' }));
    const b = ok(batcher.submit('a', { id: 'b' }));
    await assert.rejects(a, /worker crashed/);
    assert.equal(await b, 'b');
  });

  it('close() fails what is queued and refuses what comes later', async () => {
    const { batcher, release } = gated();
    const running = ok(batcher.submit('a', { id: '1' }));
    const queued = ok(batcher.submit('a', { id: '2' }));
    batcher.close(new Error('replica revoked'));
    await assert.rejects(queued, /replica revoked/);
    assert.equal(batcher.submit('a', { id: '3' }).busy?.reason, 'closed');
    await release();
    assert.equal(await running, 'out-1', 'the running batch still answers');
  });

  it('rejects bad options with RangeError', () => {
    const base = { maxBatch: 4, maxWaitMs: 0, maxQueue: 8, maxPerClient: 8, run: () => Promise.resolve([]) };
    assert.throws(() => new ContinuousBatcher({ ...base, maxBatch: 0 }), RangeError);
    assert.throws(() => new ContinuousBatcher({ ...base, maxWaitMs: -1 }), RangeError);
    assert.throws(() => new ContinuousBatcher({ ...base, maxQueue: 1.5 }), RangeError);
  });
});
