import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detBoxes, readingOrder } from './det-boxes.ts';

/** An h x w map with each rectangle [x0, y0, x1, y1] (inclusive) set to p. */
function map(h: number, w: number, rects: [number, number, number, number, number][]): Float32Array {
  const m = new Float32Array(h * w);
  for (const [x0, y0, x1, y1, p] of rects) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[y * w + x] = p;
  return m;
}

describe('ocr detector boxes', () => {
  it('detBoxes() finds each text kernel, expands it by area * 1.5 / perimeter and orders lines top down', () => {
    // Two lines: kernels 21 x 5 pixels (contour 20 x 4: d = 80 * 1.5 / 48 = 2.5) at rows 20 and 4.
    const m = map(32, 40, [[10, 20, 30, 24, 0.9], [5, 4, 25, 8, 0.8]]);
    const boxes = detBoxes(m, 0, 32, 40, { width: 40, height: 32 }, { unclipRatio: 1.5 });
    assert.equal(boxes.length, 2);
    assert.deepEqual({ ...boxes[0], score: undefined }, { x: 3, y: 2, width: 25, height: 9, score: undefined });
    assert.ok(Math.abs(boxes[0]!.score - 0.8) < 1e-6);
    assert.deepEqual({ ...boxes[1], score: undefined }, { x: 8, y: 18, width: 25, height: 9, score: undefined });
  });

  it('detBoxes() scales boxes to the source image and clamps them to its edges', () => {
    const m = map(32, 32, [[0, 10, 20, 14, 0.95]]);
    const [box, ...rest] = detBoxes(m, 0, 32, 32, { width: 64, height: 96 }, { unclipRatio: 1.5 });
    assert.equal(rest.length, 0);
    // d = 20 * 4 * 1.5 / 48 = 2.5: x from -2.5 (clamped to 0) to 22.5, scaled by 2; y from 7.5 to 16.5, scaled by 3.
    assert.deepEqual({ ...box, score: 0 }, { x: 0, y: 23, width: 45, height: 27, score: 0 });
  });

  it('detBoxes() expands by 2.2 * area / perimeter by default', () => {
    // Contour 20 x 4: d = 80 * 2.2 / 48 = 3.67 on each side.
    const [box] = detBoxes(map(32, 40, [[10, 10, 30, 14, 0.9]]), 0, 32, 40, { width: 40, height: 32 });
    assert.deepEqual({ ...box, score: 0 }, { x: 6, y: 6, width: 28, height: 12, score: 0 });
  });

  it('detBoxes() drops components that are too thin or too unsure, and treats NaN as background', () => {
    const m = map(32, 32, [[2, 2, 20, 3, 0.99], [2, 10, 20, 16, 0.5], [2, 22, 20, 28, NaN]]);
    assert.deepEqual(detBoxes(m, 0, 32, 32, { width: 32, height: 32 }), []);
    // A lower box threshold keeps the unsure one; the 2-pixel-high one stays too thin.
    assert.equal(detBoxes(m, 0, 32, 32, { width: 32, height: 32 }, { boxThreshold: 0.4 }).length, 1);
  });

  it('detBoxes() reads one map of a batch at its offset and rejects a short map', () => {
    const m = new Float32Array(2 * 16 * 16);
    m.set(map(16, 16, [[2, 4, 12, 9, 0.9]]), 256);
    assert.equal(detBoxes(m, 0, 16, 16, { width: 16, height: 16 }).length, 0);
    assert.equal(detBoxes(m, 256, 16, 16, { width: 16, height: 16 }).length, 1);
    assert.throws(() => detBoxes(m, 300, 16, 16, { width: 16, height: 16 }), /must hold 16x16 values from 300/);
  });

  it('detBoxes() keeps at most maxCandidates components, largest first', () => {
    const m = map(32, 64, [[1, 1, 10, 8, 0.9], [20, 1, 50, 12, 0.9]]);
    const boxes = detBoxes(m, 0, 32, 64, { width: 64, height: 32 }, { maxCandidates: 1 });
    assert.equal(boxes.length, 1);
    assert.ok(boxes[0]!.x > 10);
  });

  it('readingOrder() puts pieces of one line left to right and lines top to bottom', () => {
    const r = (x: number, y: number) => ({ x, y, width: 10, height: 10 });
    const sorted = readingOrder([r(50, 2), r(0, 30), r(5, 0), r(30, 4)]);
    assert.deepEqual(sorted.map((b) => [b.x, b.y]), [[5, 0], [30, 4], [50, 2], [0, 30]]);
  });
});
