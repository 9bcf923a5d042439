import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkImage, type PlaneLayout, type RgbaImage, resizeToPlanes } from './image.ts';

/** A w x h image whose pixel (x, y) has R = value(x, y), G = 2R, B = 3R. */
function image(w: number, h: number, value: (x: number, y: number) => number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = value(x, y);
      data.set([v, 2 * v, 3 * v, 255], (y * w + x) * 4);
    }
  }
  return { width: w, height: h, data };
}

function layout(out: Float32Array, w: number, h: number, extra: Partial<PlaneLayout> = {}): PlaneLayout {
  return { out, offset: 0, rowStride: w, planeStride: w * h, order: [0, 1, 2], scale: [1, 1, 1], bias: [0, 0, 0], ...extra };
}

describe('ocr image', () => {
  it('resizeToPlanes() at the same size copies every channel exactly', () => {
    const img = image(3, 2, (x, y) => 10 * y + x);
    const out = new Float32Array(3 * 6);
    resizeToPlanes(img, { x: 0, y: 0, width: 3, height: 2 }, 3, 2, layout(out, 3, 2));
    assert.deepEqual([...out.subarray(0, 6)], [0, 1, 2, 10, 11, 12]);
    assert.deepEqual([...out.subarray(6, 12)], [0, 2, 4, 20, 22, 24]);
    assert.deepEqual([...out.subarray(12)], [0, 3, 6, 30, 33, 36]);
  });

  it('resizeToPlanes() upsamples with half-pixel centres and clamped edges (OpenCV INTER_LINEAR)', () => {
    const img = image(2, 1, (x) => (x === 0 ? 0 : 80));
    const out = new Float32Array(3 * 4);
    resizeToPlanes(img, { x: 0, y: 0, width: 2, height: 1 }, 4, 1, layout(out, 4, 1));
    assert.deepEqual([...out.subarray(0, 4)], [0, 20, 60, 80]);
  });

  it('resizeToPlanes() reads a rectangle, reorders channels, scales and pads rows as told', () => {
    const img = image(4, 4, (x, y) => 10 * y + x);
    const out = new Float32Array(3 * 2 * 3).fill(-9);
    resizeToPlanes(img, { x: 1, y: 2, width: 2, height: 2 }, 2, 2, {
      out, offset: 0, rowStride: 3, planeStride: 6, order: [2, 1, 0], scale: [1, 1, 0.5], bias: [0, 0, 1],
    });
    // Output channel 0 is B = 3R; channel 2 is R / 2 + 1; column 2 of each row is padding, left alone.
    assert.deepEqual([...out.subarray(0, 6)], [63, 66, -9, 93, 96, -9]);
    assert.deepEqual([...out.subarray(12, 18)], [11.5, 12, -9, 16.5, 17, -9]);
  });

  it('resizeToPlanes() samples only the pixels the rectangle covers', () => {
    const img = image(4, 1, (x) => (x < 2 ? 10 : 50));
    const out = new Float32Array(3 * 8);
    resizeToPlanes(img, { x: 2, y: 0, width: 2, height: 1 }, 8, 1, layout(out, 8, 1));
    assert.deepEqual([...out.subarray(0, 8)], [50, 50, 50, 50, 50, 50, 50, 50]);
  });

  it('checkImage() names the wrong field', () => {
    assert.throws(() => checkImage({ width: 0, height: 2, data: new Uint8Array(0) }), /width must be an integer/);
    assert.throws(() => checkImage({ width: 2, height: 2, data: new Uint8Array(15) }), /must hold 2x2x4 bytes: current length is 15/);
    assert.throws(() => checkImage({ width: 9000, height: 1, data: new Uint8Array(36000) }), /width must be an integer in \[1, 8192\]/);
  });
});
