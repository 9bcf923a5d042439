import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nchwToRgba, PADDLE_MEAN, PADDLE_STD, renderTextBatch, renderTextImage } from './text-images.ts';

describe('text-images', () => {
  it('renderTextBatch() gives identical bytes for the same arguments', () => {
    const a = renderTextBatch(3, 64, 96, 7);
    const b = renderTextBatch(3, 64, 96, 7);
    assert.equal(a.length, 3 * 3 * 64 * 96);
    assert.deepEqual(a, b);
  });

  it('renderTextBatch() of n is a prefix of the batch of n + 2', () => {
    const small = renderTextBatch(2, 48, 64, 11);
    const large = renderTextBatch(4, 48, 64, 11);
    assert.deepEqual(small, large.subarray(0, small.length));
  });

  it('different seeds and different indices give different images', () => {
    const a = renderTextBatch(2, 64, 64, 1);
    const b = renderTextBatch(2, 64, 64, 2);
    const plane = 3 * 64 * 64;
    assert.notDeepEqual(a.subarray(0, plane), b.subarray(0, plane));
    assert.notDeepEqual(a.subarray(0, plane), a.subarray(plane));
  });

  it('renderTextImage() draws dark text on a light background', () => {
    for (let i = 0; i < 8; i++) {
      const { rgba, lines } = renderTextImage(96, 160, 5, i);
      assert.ok(lines.length >= 1, `image ${i} has at least one line`);
      let dark = 0;
      let light = 0;
      for (let p = 0; p < rgba.length; p += 4) {
        const y = ((rgba[p] as number) + (rgba[p + 1] as number) + (rgba[p + 2] as number)) / 3;
        if (y < 110) dark++;
        else if (y > 200) light++;
      }
      const n = rgba.length / 4;
      assert.ok(dark / n > 0.005 && dark / n < 0.5, `image ${i}: dark fraction ${dark / n}`);
      assert.ok(light / n > 0.4, `image ${i}: light fraction ${light / n}`);
    }
  });

  it('values are normalised with the PaddleOCR mean and std', () => {
    const t = renderTextBatch(1, 32, 32, 3);
    const lo = Math.min(...PADDLE_MEAN.map((m, c) => -m / (PADDLE_STD[c] as number)));
    const hi = Math.max(...PADDLE_MEAN.map((m, c) => (1 - m) / (PADDLE_STD[c] as number)));
    for (const v of t) assert.ok(v >= lo - 1e-6 && v <= hi + 1e-6, `value ${v} in [${lo}, ${hi}]`);
  });

  it('nchwToRgba() inverts the normalisation to within one grey level', () => {
    const { rgba } = renderTextImage(40, 40, 9, 0);
    const back = nchwToRgba(renderTextBatch(1, 40, 40, 9), 0, 40, 40);
    let worst = 0;
    for (let i = 0; i < rgba.length; i++) worst = Math.max(worst, Math.abs((rgba[i] as number) - (back[i] as number)));
    assert.ok(worst <= 1, `worst difference ${worst}`);
  });

  it('rejects sizes that are not positive integers in range', () => {
    assert.throws(() => renderTextBatch(0, 32, 32, 1), RangeError);
    assert.throws(() => renderTextBatch(1, 8, 32, 1), /'h' must be an integer in \[16, 4096\]: current value is 8/);
    assert.throws(() => renderTextBatch(1, 32, 32.5, 1), RangeError);
  });
});
