import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RttBook } from './rtt.ts';

describe('market: round-trip book', () => {
  it('knows a pair only once both sides reported, and takes the larger report', () => {
    const b = new RttBook();
    b.report('client', 'near', 1);
    assert.equal(b.pair('client', 'near'), undefined, 'one side alone counts for nothing');
    assert.equal(b.confirmed('client'), undefined);
    b.report('near', 'client', 6);
    assert.equal(b.pair('client', 'near'), 6);
    assert.deepEqual([...b.confirmed('client')!], [['near', 6]]);
  });

  it('ignores a report about a peer that never reported back (never connected)', () => {
    const b = new RttBook();
    b.report('liar', 'victim', 0);
    b.report('victim', 'someone-else', 3);
    assert.equal(b.pair('liar', 'victim'), undefined);
    assert.equal(b.confirmed('victim'), undefined);
  });

  it('stays bounded under a flood of reports, dropping the oldest first', () => {
    const b = new RttBook(4, 2);
    for (let i = 0; i < 1000; i++) b.report('flood', `p${i}`, i % 100);
    assert.equal(b.sizeOf('flood'), 4);
    b.report('r2', 'x', 1);
    b.report('r3', 'x', 1);
    assert.equal(b.sizeOf('flood'), 0, 'the oldest reporter went first');
    assert.equal(b.sizeOf('r3'), 1);
  });

  it('refuses a round trip to oneself and values outside [0, 60000]', () => {
    const b = new RttBook();
    assert.throws(() => b.report('a', 'a', 1), /is the reporter itself/);
    assert.throws(() => b.report('a', 'b', -1), /current value is -1/);
    assert.throws(() => b.report('a', 'b', Number.NaN), /current value is NaN/);
    assert.throws(() => b.report('a', 'b', 1e9), /current value is 1000000000/);
  });

  it('forgets a reporter whose session ended', () => {
    const b = new RttBook();
    b.report('a', 'b', 1);
    b.report('b', 'a', 1);
    b.forget('a');
    assert.equal(b.pair('a', 'b'), undefined);
  });
});
