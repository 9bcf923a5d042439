import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../testing/prng.ts';
import { ctcBestPath, ctcGreedy, parseDictionary } from './ctc.ts';

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

  it('ctcBestPath() decodes indices and their probabilities as ctcGreedy() decodes the table they come from', () => {
    const classes = parseDictionary('a\nb\nc\nd\ne\nf');
    const n = classes.length;
    const next = rng(7);
    const items = 6;
    const steps = 40;
    // Peaked rows, with runs and blanks, so decoded lines have repeats to collapse.
    const table = new Float32Array(items * steps * n);
    for (let i = 0; i < table.length; i++) table[i] = next(1000) / 1000;
    for (let r = 0; r < items * steps; r++) table[r * n + (next(3) === 0 ? 0 : Math.floor(r / 3) % n)]! += 2;
    const indices = new BigInt64Array(items * steps);
    const probs = new Float32Array(items * steps);
    for (let r = 0; r < items * steps; r++) {
      let best = 0;
      for (let k = 1; k < n; k++) if (table[r * n + k]! > table[r * n + best]!) best = k;
      indices[r] = BigInt(best);
      probs[r] = table[r * n + best]!;
    }
    let nonEmpty = 0;
    for (let i = 0; i < items; i++) {
      const used = steps - i; // fewer steps than the batch's width, as for a narrower crop
      const want = ctcGreedy(table, i * steps * n, used, classes);
      assert.deepEqual(ctcBestPath(indices, probs, i * steps, used, classes), want);
      assert.deepEqual(ctcBestPath(Array.from(indices, Number), probs, i * steps, used, classes), want);
      if (want.text !== '') nonEmpty++;
    }
    assert.equal(nonEmpty, items);
  });

  it('ctcBestPath() rejects indices that are not classes and too few values', () => {
    const classes = parseDictionary('a');
    const probs = Float32Array.from([0.9, 0.9]);
    assert.equal(ctcBestPath(BigInt64Array.from([1n, 2n]), probs, 0, 2, classes).text, 'a ');
    assert.throws(() => ctcBestPath(BigInt64Array.from([1n, 3n]), probs, 0, 2, classes), /step 1 as its class must be an integer in 0\.\.2: current value is 3/);
    assert.throws(() => ctcBestPath(BigInt64Array.from([-1n, 0n]), probs, 0, 2, classes), /current value is -1/);
    assert.throws(() => ctcBestPath(BigInt64Array.from([2n ** 40n, 0n]), probs, 0, 2, classes), /class must be an integer/);
    assert.throws(() => ctcBestPath([0.5, 1], probs, 0, 2, classes), /class must be an integer/);
    assert.throws(() => ctcBestPath([1, 1], probs, 1, 2, classes), /2 steps need 2 indices and probabilities from 1/);
  });
});
