import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DET_MEAN, DET_STD, detInput, detInputSize } from './det-input.ts';

describe('ocr detector input', () => {
  it('detInputSize() rounds to multiples of 32 and only shrinks past the limit', () => {
    assert.deepEqual(detInputSize(100, 50), { width: 96, height: 64 });
    assert.deepEqual(detInputSize(2000, 1000), { width: 960, height: 480 });
    assert.deepEqual(detInputSize(10, 10), { width: 32, height: 32 });
    assert.deepEqual(detInputSize(640, 200, 320), { width: 320, height: 96 });
    assert.throws(() => detInputSize(10, 10, 16), /'limitSide' must be an integer in \[32, 4096\]/);
  });

  it('detInput() normalises each channel as (x / 255 - mean) / std into NCHW', () => {
    const white = { width: 2, height: 2, data: new Uint8ClampedArray(16).fill(255) };
    const dark = { width: 4, height: 4, data: new Uint8ClampedArray(64).fill(0) };
    const out = detInput([white, dark], { width: 32, height: 32 });
    assert.equal(out.length, 2 * 3 * 32 * 32);
    for (let c = 0; c < 3; c++) {
      const w = (1 - DET_MEAN[c]!) / DET_STD[c]!;
      const d = -DET_MEAN[c]! / DET_STD[c]!;
      assert.ok(Math.abs(out[c * 1024 + 517]! - w) < 1e-5, `white channel ${c}`);
      assert.ok(Math.abs(out[(3 + c) * 1024 + 5]! - d) < 1e-5, `dark channel ${c}`);
    }
  });
});
