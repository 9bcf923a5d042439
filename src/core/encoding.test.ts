import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64Url, toBase64Url } from './encoding.ts';

describe('encoding', () => {
  it('fromBase64Url() inverts toBase64Url() for every length', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      assert.deepEqual(fromBase64Url(toBase64Url(bytes)), bytes);
    }
  });

  it('fromBase64Url() refuses a re-encoding with unused trailing bits set (one signature, one text)', () => {
    const sig = toBase64Url(new Uint8Array(64).fill(7)); // 86 characters: the last one carries 2 unused bits
    const last = sig.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = sig.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
    assert.throws(() => fromBase64Url(twin), /not canonical/);
    assert.throws(() => fromBase64Url('abc+'), /invalid characters/);
    assert.throws(() => fromBase64Url('abcde'), /invalid characters or length/);
  });
});
