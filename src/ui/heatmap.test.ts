import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fractionAbove, heatmapRgba, rampColour } from './heatmap.ts';

describe('heatmap', () => {
  it('fractionAbove() counts strictly greater values inside the window only', () => {
    const v = [0.9, 0.3, 0.31, 0.1, 1, 1];
    assert.equal(fractionAbove(v, 0, 4, 0.3), 0.5);
    assert.equal(fractionAbove(v, 4, 2, 0.3), 1);
  });

  it('fractionAbove() rejects a window outside the data', () => {
    assert.throws(() => fractionAbove(new Float32Array(4), 2, 3, 0.3), RangeError);
    assert.throws(() => fractionAbove(new Float32Array(4), 0, 0, 0.3), RangeError);
  });

  it('rampColour() runs from dark to bright and clamps out-of-range values', () => {
    const lum = (c: number[]) => (c[0] as number) + (c[1] as number) + (c[2] as number);
    assert.ok(lum(rampColour(0)) < lum(rampColour(0.5)));
    assert.ok(lum(rampColour(0.5)) < lum(rampColour(1)));
    assert.deepEqual(rampColour(-3), rampColour(0));
    assert.deepEqual(rampColour(7), rampColour(1));
    assert.deepEqual(rampColour(Number.NaN), rampColour(0));
  });

  it('heatmapRgba() maps each value to an opaque pixel at the given offset', () => {
    const v = new Float32Array([5, 5, 0, 1]);
    const px = heatmapRgba(v, 2, 1, 2);
    assert.equal(px.length, 8);
    assert.deepEqual([...px.subarray(0, 3)], rampColour(0).map(Math.round));
    assert.deepEqual([...px.subarray(4, 7)], rampColour(1).map(Math.round));
    assert.equal(px[3], 255);
    assert.throws(() => heatmapRgba(v, 3, 1, 2), RangeError);
  });
});
