import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { characterAccuracy, editDistance } from './accuracy.ts';

describe('ocr accuracy', () => {
  it('editDistance() counts insertions, deletions and substitutions by code point', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', 'abc'), 0);
    assert.equal(editDistance('a😀b', 'ab'), 1);
  });

  it('characterAccuracy() is 1 - distance / reference length, floored at 0', () => {
    assert.equal(characterAccuracy('abcd', 'abed'), 0.75);
    assert.equal(characterAccuracy('ab', 'xyzuvw'), 0);
    assert.equal(characterAccuracy('', ''), 1);
    assert.equal(characterAccuracy('', 'a'), 0);
  });
});
