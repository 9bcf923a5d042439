import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { arr, num, obj, oneOf, opt, parseJson, str, tagged, lit, ValidationError } from './validate.ts';

describe('validate', () => {
  const parse = obj({ name: str({ min: 1 }), n: num({ int: true, min: 0 }), tags: opt(arr(oneOf('a', 'b'))) });

  it('obj() accepts a well-formed value and drops absent optionals', () => {
    assert.deepEqual(parse({ name: 'x', n: 3 }), { name: 'x', n: 3 });
    assert.deepEqual(parse({ name: 'x', n: 3, tags: ['a'] }), { name: 'x', n: 3, tags: ['a'] });
  });

  it('obj() names the nested field and value that failed', () => {
    assert.throws(() => parse({ name: 'x', n: 3, tags: ['a', 'c'] }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.path, 'tags[1]');
      assert.match(err.message, /'tags\[1\]'.*one of a, b.*"c"/);
      return true;
    });
  });

  it('obj() rejects unknown fields so typos surface', () => {
    assert.throws(() => parse({ name: 'x', n: 1, nme: 'y' }), /'nme': expected no such field/);
  });

  it('num() rejects NaN, Infinity, fractions for int and out-of-range values', () => {
    for (const bad of [NaN, Infinity, 1.5, -1, '3']) {
      assert.throws(() => parse({ name: 'x', n: bad }), ValidationError, String(bad));
    }
  });

  it('tagged() reports an unknown tag by its type field', () => {
    const t = tagged({ a: obj({ type: lit('a') }), b: obj({ type: lit('b'), x: num() }) });
    assert.deepEqual(t({ type: 'b', x: 1 }), { type: 'b', x: 1 });
    assert.throws(() => t({ type: 'zzz' }), /'type': expected one of a, b/);
    assert.throws(() => t({ type: 'b', x: 'no' }), /'x': expected a finite number/);
  });

  it('parseJson() turns syntax errors and oversize text into ValidationError', () => {
    assert.throws(() => parseJson('{oops'), ValidationError);
    assert.throws(() => parseJson('[1,2,3]', 3), /at most 3 characters/);
    assert.deepEqual(parseJson('{"a":1}'), { a: 1 });
  });
});
