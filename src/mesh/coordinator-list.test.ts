import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, coordinatorBase, coordinatorList, MAX_COORDINATORS, reconnectPlan } from './coordinator-list.ts';

const policy = { attempts: 6, baseMs: 100, maxMs: 1000 };
/** Jitter at its top: every pause is the full backoff step. */
const noJitter = () => 1;
const plan = (count: number, current: number, p = policy) => [...reconnectPlan(count, current, p, noJitter)].map((s) => [s.index, s.delayMs]);

describe('coordinatorList()', () => {
  it('keeps the order, drops trailing slashes and duplicates', () => {
    assert.deepEqual(coordinatorList(['https://a.example/', 'http://127.0.0.1:8787', 'https://a.example', 'https://b.example/app/']), [
      'https://a.example',
      'http://127.0.0.1:8787',
      'https://b.example/app',
    ]);
    assert.deepEqual(coordinatorList([new URL('http://h:1/')]), ['http://h:1']);
  });

  it('names the offending entry in a TypeError', () => {
    assert.throws(() => coordinatorList(['https://a', 'ftp://b']), { name: 'TypeError', message: /'coordinators\[1\]' as it must be an http\(s\) URL: current value is 'ftp:\/\/b'/ });
    assert.throws(() => coordinatorList(['not a url']), { name: 'TypeError', message: /'coordinators\[0\]'/ });
    assert.throws(() => coordinatorList(['https://a?x=1']), { name: 'TypeError', message: /no query, fragment or credentials/ });
    assert.throws(() => coordinatorList(['https://u:p@a']), TypeError);
    assert.throws(() => coordinatorBase('ws://a', 'coordinator'), { name: 'TypeError', message: /'coordinator' as it must be an http\(s\) URL/ });
  });

  it('wants 1 to 16 coordinators after duplicates are dropped', () => {
    assert.throws(() => coordinatorList([]), { name: 'TypeError', message: /at least one coordinator/ });
    assert.throws(() => coordinatorList('https://a' as unknown as string[]), { name: 'TypeError', message: /must be an array/ });
    const many = Array.from({ length: MAX_COORDINATORS + 1 }, (_, i) => `https://c${i}.example`);
    assert.throws(() => coordinatorList(many), { name: 'TypeError', message: /at most 16 coordinators: current count is 17/ });
    assert.equal(coordinatorList([...many.slice(0, 16), 'https://c0.example/']).length, 16);
  });
});

describe('reconnectPlan()', () => {
  it('with one coordinator is the plain exponential backoff, capped', () => {
    assert.deepEqual(plan(1, 0), [[0, 100], [0, 200], [0, 400], [0, 800], [0, 1000], [0, 1000]]);
  });

  it('tries the same coordinator once, then cycles from the next one with one backoff step per cycle', () => {
    assert.deepEqual(plan(3, 1, { ...policy, attempts: 8 }), [
      [1, 100], // the quick retry of the one in use
      [2, 200], [0, 0], [1, 0], // cycle 1, back to back
      [2, 400], [0, 0], [1, 0], // cycle 2
      [2, 800],
    ]);
  });

  it('counts the attempt budget across coordinators', () => {
    assert.equal(plan(4, 3, { ...policy, attempts: 3 }).length, 3);
    assert.deepEqual(plan(4, 3, { ...policy, attempts: 3 }).map(([i]) => i), [3, 0, 1]);
    assert.deepEqual(plan(2, 0, { ...policy, attempts: 0 }), []);
  });

  it('jitters each pause down by at most half', () => {
    assert.equal(backoffMs(2, policy, () => 0), 200);
    assert.equal(backoffMs(2, policy, () => 1), 400);
    assert.throws(() => [...reconnectPlan(2, 2, policy)], RangeError);
  });
});
