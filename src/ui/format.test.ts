import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCredits, formatMs, formatPercent, shortId } from './format.ts';

describe('format', () => {
  it('formatCredits() converts micro-credits with separators and trims zeros', () => {
    assert.equal(formatCredits(1_000_000_000), '1,000');
    assert.equal(formatCredits(2_500_000), '2.5');
    assert.equal(formatCredits(1), '0.000001');
    assert.equal(formatCredits(Number.NaN), '—');
  });

  it('formatMs() switches to seconds at one second', () => {
    assert.equal(formatMs(850.4), '850 ms');
    assert.equal(formatMs(2400), '2.40 s');
    assert.equal(formatMs(12_345), '12.3 s');
  });

  it('formatPercent(), formatBytes() and shortId() render compactly', () => {
    assert.equal(formatPercent(0.1234), '12.3%');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(4_745_517), '4.5 MiB');
    assert.equal(shortId('mw0123456789abcdef'), 'mw0123…cdef');
    assert.equal(shortId('short'), 'short');
  });
});
