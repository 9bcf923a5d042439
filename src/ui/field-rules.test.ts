import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkField, rangeText } from './field-rules.ts';

const images = { label: 'Images', min: 1, max: 256 };

describe('field-rules', () => {
  it('checkField() accepts values inside the range', () => {
    assert.deepEqual(checkField('8', images), { ok: true, value: 8 });
    assert.deepEqual(checkField(' 256 ', images), { ok: true, value: 256 });
    assert.deepEqual(checkField('0.25', { label: 'Verify fraction', min: 0, max: 1, integer: false }), { ok: true, value: 0.25 });
  });

  it('checkField() never clamps: too small, too large and negative values name the field and the range', () => {
    const zero = checkField('0', images);
    assert.equal(zero.ok, false);
    assert.match(!zero.ok ? zero.message : '', /^Images must be a whole number from 1 to 256: 0 is too small$/);
    const big = checkField('100000', images);
    assert.match(!big.ok ? big.message : '', /Images .* 1 to 256: 100000 is too large/);
    const neg = checkField('-3', { label: 'Seed', min: 0, max: 2 ** 31 });
    assert.match(!neg.ok ? neg.message : '', /Seed .* 0 to 2,147,483,648: -3 is too small/);
  });

  it('checkField() rejects empty, non-numeric and fractional input to integer fields', () => {
    assert.match((checkField('', images) as { message: string }).message, /empty/);
    assert.match((checkField('abc', images) as { message: string }).message, /"abc" is not a number/);
    assert.match((checkField('2.5', images) as { message: string }).message, /2\.5 is not whole/);
  });

  it('rangeText() uses thousands separators', () => {
    assert.equal(rangeText({ label: 'x', min: 0, max: 1_000_000 }), '0 to 1,000,000');
  });
});
