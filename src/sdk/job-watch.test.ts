import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobStatus } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { JobWatch, NOT_FOUND_RECHECK_MS, type StatusSink, type StatusSource } from './job-watch.ts';

const running: JobStatus = { jobId: 'j1', state: 'running', shards: 1, settled: 0, escrow: 10, spent: 0, fees: 0, refunded: 0 };

/** A coordinator session whose `job` answers come from a list (an Error is thrown). */
class Source extends EventTarget implements StatusSource {
  state: 'open' | 'reconnecting' | 'closed' = 'open';
  asked = 0;
  constructor(readonly answers: (JobStatus | Error)[]) {
    super();
  }
  request<T>(): Promise<T> {
    this.asked++;
    const a = this.answers.length > 1 ? this.answers.shift()! : this.answers[0]!;
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a as T);
  }
}

function sink() {
  const seen: string[] = [];
  const s: StatusSink = { running: () => seen.push('running'), ended: (st) => seen.push(st.state), lost: () => seen.push('lost') };
  return { s, seen };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const notFound = () => new MeshError('not-found', 'Cannot find job j1');

describe('JobWatch', () => {
  it('asks on every welcome and reports the end it finds', async () => {
    const source = new Source([{ ...running, state: 'cancelled' }]);
    const { s, seen } = sink();
    const watch = new JobWatch(source, 'j1', s, 60_000);
    source.dispatchEvent(new Event('welcome'));
    await sleep(0);
    watch.stop();
    assert.deepEqual(seen, ['cancelled']);
  });

  it('polls while the session is open, and not while it reconnects', async () => {
    const source = new Source([running]);
    source.state = 'reconnecting';
    const { s, seen } = sink();
    const watch = new JobWatch(source, 'j1', s, 20);
    await sleep(70);
    assert.equal(source.asked, 0);
    source.state = 'open';
    await sleep(70);
    watch.stop();
    assert.ok(source.asked >= 2, `asked ${source.asked} times`);
    assert.ok(seen.every((x) => x === 'running'));
  });

  it("counts a job as lost only after a second 'not-found', and not when it turns up in between", async () => {
    const once = new Source([notFound(), running]);
    const a = sink();
    const w1 = new JobWatch(once, 'j1', a.s, 60_000);
    const twice = new Source([notFound()]);
    const b = sink();
    const w2 = new JobWatch(twice, 'j1', b.s, 60_000);
    await Promise.all([w1.refresh(), w2.refresh()]);
    assert.deepEqual([a.seen, b.seen], [[], []]);
    await sleep(NOT_FOUND_RECHECK_MS + 100);
    w1.stop();
    w2.stop();
    assert.deepEqual(a.seen, ['running']);
    assert.deepEqual(b.seen, ['lost']);
  });

  it('ignores errors other than not-found (the next poll asks again)', async () => {
    const source = new Source([new MeshError('transfer-failed', 'dropped')]);
    const { s, seen } = sink();
    const watch = new JobWatch(source, 'j1', s, 60_000);
    await watch.refresh();
    await sleep(NOT_FOUND_RECHECK_MS + 100);
    watch.stop();
    assert.deepEqual(seen, []);
  });
});
