import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRecBatches, REC_HEIGHT, REC_MAX_WIDTH, recInput, recSteps, recWidth } from './rec-input.ts';

describe('ocr recogniser input', () => {
  it('recWidth() keeps the aspect at height 48, rounding up and capping', () => {
    assert.equal(recWidth({ x: 0, y: 0, width: 100, height: 24 }), 200);
    assert.equal(recWidth({ x: 0, y: 0, width: 33, height: 48 }), 33);
    assert.equal(recWidth({ x: 0, y: 0, width: 10, height: 7 }), 69);
    assert.equal(recWidth({ x: 0, y: 0, width: 10_000, height: 10 }), REC_MAX_WIDTH);
    assert.throws(() => recWidth({ x: 0, y: 0, width: 0, height: 7 }), /sides must be positive/);
  });

  it('planRecBatches() sorts crops by width and pads each batch to a multiple of 8, at least the minimum', () => {
    const batches = planRecBatches([500, 100, 330, 801, 90], 2);
    assert.deepEqual(batches, [
      { crops: [4, 1], width: 320 },
      { crops: [2, 0], width: 504 },
      { crops: [3], width: 808 },
    ]);
    assert.deepEqual(planRecBatches([10, 20], 4, 8), [{ crops: [0, 1], width: 24 }]);
    assert.deepEqual(planRecBatches([], 4), []);
    assert.throws(() => planRecBatches([1], 0), /'maxBatch' must be an integer in \[1, 1024\]/);
  });

  it('recSteps() covers the crop plus one step, never past the output', () => {
    assert.equal(recSteps(100, 40), 14);
    assert.equal(recSteps(320, 40), 40);
    assert.equal(recSteps(64, 40), 9);
  });

  it('recInput() writes each crop BGR-normalised into its slot, left-aligned, the rest 0', () => {
    // A 4 x 2 image: left half pure red, right half pure blue.
    const data = new Uint8ClampedArray(4 * 2 * 4);
    for (let p = 0; p < 8; p++) data.set(p % 4 < 2 ? [255, 0, 0, 255] : [0, 0, 255, 255], p * 4);
    const images = [{ width: 4, height: 2, data }];
    const crops = [{ image: 0, rect: { x: 0, y: 0, width: 2, height: 2 } }, { image: 0, rect: { x: 2, y: 0, width: 2, height: 2 } }];
    const width = 64;
    const out = recInput(images, crops, { crops: [1, 0], width });
    const plane = REC_HEIGHT * width;
    assert.equal(out.length, 2 * 3 * plane);
    // Slot 0 holds crop 1 (blue): B channel (plane 0) is 1, R (plane 2) is -1, for 48 columns; padding is 0.
    assert.equal(out[0], 1);
    assert.equal(out[2 * plane + 47], -1);
    assert.equal(out[48], 0);
    assert.equal(out[plane - 1], 0);
    // Slot 1 holds crop 0 (red).
    assert.equal(out[3 * plane + 10 * width + 5], -1);
    assert.equal(out[3 * plane + 2 * plane + 10 * width + 5], 1);
  });
});
