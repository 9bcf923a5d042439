import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ctcGreedy, parseDictionary } from './ctc.ts';

/** Probabilities of `steps` one-hot-ish rows: class winners[t] gets p[t], the rest share what is left. */
function rows(winners: number[], p: number[], classes: number): Float32Array {
  const out = new Float32Array(winners.length * classes);
  winners.forEach((k, t) => {
    out.fill((1 - p[t]!) / (classes - 1), t * classes, (t + 1) * classes);
    out[t * classes + k] = p[t]!;
  });
  return out;
}

describe('ocr CTC', () => {
  it('parseDictionary() puts the blank first and a space last, with or without a final newline', () => {
    assert.deepEqual(parseDictionary('a\nb\nc'), ['', 'a', 'b', 'c', ' ']);
    assert.deepEqual(parseDictionary('a\r\nb\n'), ['', 'a', 'b', ' ']);
    assert.throws(() => parseDictionary(''), /must have 1\.\.100000 entries: current count is 0/);
  });

  it('ctcGreedy() drops repeats, then blanks, so a blank separates a doubled letter', () => {
    const classes = parseDictionary('a\nb\nl');
    // a a <blank> l l <blank> l b <space> b  ->  "all b" ... with "l l" merged and the blank keeping the second l.
    const winners = [1, 1, 0, 3, 3, 0, 3, 2, 4, 2];
    const p = [0.9, 0.8, 0.99, 0.7, 0.6, 0.9, 0.5, 0.9, 0.6, 0.3];
    const line = ctcGreedy(rows(winners, p, classes.length), 0, winners.length, classes);
    assert.equal(line.text, 'allb b');
    assert.ok(Math.abs(line.confidence - (0.9 + 0.7 + 0.5 + 0.9 + 0.6 + 0.3) / 6) < 1e-6);
  });

  it('ctcGreedy() reads only the given steps at the given offset, and NFKC-folds full-width characters', () => {
    const classes = parseDictionary('\uff01\nx');
    const probs = new Float32Array(3 + 3 * classes.length);
    probs.set(rows([2, 1, 2], [0.9, 0.9, 0.9], classes.length), 3);
    assert.equal(ctcGreedy(probs, 3, 2, classes).text, 'x!');
    assert.equal(ctcGreedy(probs, 3, 3, classes).text, 'x!x');
  });

  it('ctcGreedy() gives an empty line confidence 0 and never picks a NaN', () => {
    const classes = parseDictionary('a');
    const probs = Float32Array.from([0.9, NaN, 0.1, 0.8, 0.1, 0.1]);
    assert.deepEqual(ctcGreedy(probs, 0, 2, classes), { text: '', confidence: 0 });
    assert.throws(() => ctcGreedy(probs, 0, 3, classes), /3 steps of 3 classes need 9 values/);
  });
});
