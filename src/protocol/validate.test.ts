import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as v from 'valibot';
import { describeValue, parseJson, parser, ValidationError } from './validate.ts';

/** Asserts that `fn` throws a ValidationError at `path` whose message matches `message`. */
function throwsAt(fn: () => unknown, path: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
    assert.equal(err.path, path);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('validate', () => {
  const parse = parser(v.strictObject({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(8)),
    n: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
    tags: v.exactOptional(v.array(v.picklist(['a', 'b']))),
    inner: v.exactOptional(v.strictObject({ xs: v.array(v.strictObject({ y: v.boolean() })) })),
  }));

  it('parser() returns the value and leaves absent optionals absent', () => {
    assert.deepEqual(parse({ name: 'x', n: 3 }), { name: 'x', n: 3 });
    assert.equal('tags' in parse({ name: 'x', n: 3 }), false);
    assert.deepEqual(parse({ name: 'x', n: 3, tags: ['a'] }), { name: 'x', n: 3, tags: ['a'] });
  });

  it('parser() throws a ValidationError, a TypeError named ValidationError', () => {
    assert.throws(() => parse(null), (err: unknown) => err instanceof TypeError && (err as Error).name === 'ValidationError');
  });

  it('ValidationError names the nested field, array index and offending value', () => {
    throwsAt(() => parse({ name: 'x', n: 3, tags: ['a', 'c'] }), 'tags[1]', /^Cannot accept 'tags\[1\]': expected one of a, b, current value is "c"$/);
    throwsAt(() => parse({ name: 'x', n: 3, inner: { xs: [{ y: true }, { y: 1 }] } }), 'inner.xs[1].y', /expected a boolean, current value is 1$/);
  });

  it('ValidationError prefixes the path given to the parser', () => {
    throwsAt(() => parse({ name: 'x', n: -1 }, 'entry'), 'entry.n', /expected a number of at least 0, current value is -1/);
    throwsAt(() => parse(7), '', /^Cannot accept '\(root\)': expected an object, current value is 7$/);
  });

  it('ValidationError says what a string, array or required field lacked', () => {
    throwsAt(() => parse({ name: '', n: 1 }), 'name', /expected a non-empty string, current value is ""/);
    throwsAt(() => parse({ name: 'x'.repeat(9), n: 1 }), 'name', /expected a string of at most 8 characters/);
    throwsAt(() => parse({ n: 1 }), 'name', /expected a value \(the field is required\), current value is undefined/);
  });

  it('strict objects reject unknown fields so typos surface', () => {
    throwsAt(() => parse({ name: 'x', n: 1, nme: 'y' }), 'nme', /'nme': expected no such field, current value is "y"/);
  });

  it('strict objects reject prototype names as fields, own __proto__ included', () => {
    for (const key of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']) {
      throwsAt(() => parse(JSON.parse(`{"name":"x","n":1,"${key}":{"polluted":true}}`)), key, /no such field/);
      throwsAt(() => parse(JSON.parse(`{"name":"x","n":1,"inner":{"xs":[{"y":true,"${key}":1}]}}`)), `inner.xs[0].${key}`, /no such field/);
    }
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  it('integers refuse NaN, Infinity (JSON 1e400), fractions, unsafe integers and strings', () => {
    for (const bad of [NaN, Infinity, -Infinity, 1.5, 2 ** 53, -1, '3']) {
      throwsAt(() => parse({ name: 'x', n: bad }), 'n', new RegExp(`current value is ${typeof bad === 'string' ? `"${bad}"` : String(bad)}$`));
    }
    throwsAt(() => parse(JSON.parse('{"name":"x","n":1e400}')), 'n', /expected an integer, current value is Infinity/);
  });

  it('paths quote and cut keys that are not short identifiers, so messages stay one bounded line', () => {
    const key = `a b\n${'z'.repeat(100)}`;
    assert.throws(() => parse({ name: 'x', n: 1, [key]: 1 }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.path, `[${JSON.stringify(`a b\n${'z'.repeat(56)}...`)}]`);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  });

  it('describeValue() cuts strings to 60 characters and names objects by kind', () => {
    assert.equal(describeValue('x'.repeat(100)), JSON.stringify('x'.repeat(60) + '...'));
    assert.deepEqual([describeValue([1, 2]), describeValue({}), describeValue(new Uint8Array(3)), describeValue(null)], [
      'an array of length 2',
      'an object',
      'binary data of 3 bytes',
      'null',
    ]);
  });

  it('parseJson() turns syntax errors and oversize text into ValidationError', () => {
    assert.throws(() => parseJson('{oops'), /expected valid JSON/);
    assert.throws(() => parseJson('[1,2,3]', 3), /at most 3 characters/);
    assert.deepEqual(parseJson('{"a":1}'), { a: 1 });
  });
});
