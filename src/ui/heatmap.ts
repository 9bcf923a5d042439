/** Summaries and false-colour pictures of per-pixel probability maps (the text detector's output). */

/** Fraction of the `count` values starting at `offset` that are strictly above `threshold`. */
export function fractionAbove(values: ArrayLike<number>, offset: number, count: number, threshold: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`Cannot summarise a map as 'count' must be a positive integer: current value is ${count}`);
  if (offset < 0 || offset + count > values.length) {
    throw new RangeError(`Cannot summarise a map as [offset, offset + count) must lie inside the data: current value is [${offset}, ${offset + count}) of ${values.length}`);
  }
  let above = 0;
  for (let i = offset; i < offset + count; i++) if ((values[i] as number) > threshold) above++;
  return above / count;
}

/** Colour stops of a perceptually ordered ramp (dark blue -> teal -> yellow), values 0..1. */
const RAMP: [number, number, number][] = [
  [13, 17, 38],
  [33, 76, 140],
  [24, 150, 150],
  [120, 200, 90],
  [250, 230, 60],
];

/** RGB for a probability in [0, 1] (clamped), interpolated along the ramp. */
export function rampColour(p: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, Number.isFinite(p) ? p : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const f = t - i;
  const a = RAMP[i] as [number, number, number];
  const b = RAMP[i + 1] as [number, number, number];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** RGBA bytes (h x w x 4) for the h*w probabilities at `offset` of `values`. */
export function heatmapRgba(values: ArrayLike<number>, offset: number, h: number, w: number): Uint8ClampedArray {
  if (offset < 0 || offset + h * w > values.length) {
    throw new RangeError(`Cannot draw a heat map as the data holds ${values.length} values: current value is offset ${offset} + ${h}x${w}`);
  }
  const out = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = rampColour(values[offset + p] as number);
    out[p * 4] = r;
    out[p * 4 + 1] = g;
    out[p * 4 + 2] = b;
    out[p * 4 + 3] = 255;
  }
  return out;
}
