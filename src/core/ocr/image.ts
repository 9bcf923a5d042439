/**
 * RGBA images as plain data, and the one resampling step every OCR stage uses: a rectangle of the image resized
 * bilinearly (OpenCV INTER_LINEAR's half-pixel convention) straight into normalised float planes, so detector and
 * recogniser inputs are written with one pass and no intermediate image.
 */

/** An image as row-major RGBA bytes (ImageData's layout). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/** An axis-aligned rectangle in pixels; x, y is its top-left corner. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Largest side accepted for an OCR image, in pixels. */
export const MAX_IMAGE_SIDE = 8192;

/** Throws a RangeError unless `img` is a well-formed RGBA image within MAX_IMAGE_SIDE. */
export function checkImage(img: RgbaImage, what = 'image'): void {
  const { width, height } = img;
  checkImageSize(width, height, what);
  if (!img.data || img.data.length !== width * height * 4) {
    throw new RangeError(`Cannot read ${what} as its data must hold ${width}x${height}x4 bytes: current length is ${img.data?.length}`);
  }
}

/** Throws a RangeError unless both sides are integers in [1, MAX_IMAGE_SIDE]. */
export function checkImageSize(width: number, height: number, what = 'image'): void {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_IMAGE_SIDE) {
      throw new RangeError(`Cannot read ${what} as its ${name} must be an integer in [1, ${MAX_IMAGE_SIDE}]: current value is ${v}`);
    }
  }
}

/** Where and how `resizeToPlanes` writes: value = byte * scale[c] + bias[c] for source channel order[c]. */
export interface PlaneLayout {
  out: Float32Array;
  /** Index of output channel 0's first pixel. */
  offset: number;
  /** Floats between output rows (at least the output width: wider rows leave padding untouched). */
  rowStride: number;
  /** Floats between channel planes. */
  planeStride: number;
  /** Source channel (0 R, 1 G, 2 B) of each output channel. */
  order: readonly [number, number, number];
  scale: readonly [number, number, number];
  bias: readonly [number, number, number];
}

/**
 * Resizes `rect` of `img` to outW x outH with bilinear sampling (pixel centres at +0.5) and writes three
 * normalised planes as `layout` says. Samples are clamped to the pixels the rectangle covers, as if it had been
 * cropped first, so nothing outside a text box bleeds into its edges.
 */
export function resizeToPlanes(img: RgbaImage, rect: Rect, outW: number, outH: number, layout: PlaneLayout): void {
  if (!(outW >= 1 && outH >= 1 && rect.width > 0 && rect.height > 0)) {
    throw new RangeError(`Cannot resize as sizes must be positive: current rect is ${rect.width}x${rect.height}, output ${outW}x${outH}`);
  }
  const { width: w, height: h, data } = img;
  const { out, offset, rowStride, planeStride, order, scale, bias } = layout;
  const sx = rect.width / outW;
  const sy = rect.height / outH;
  const left = clamp(Math.floor(rect.x), 0, w - 1);
  const right = clamp(Math.ceil(rect.x + rect.width) - 1, left, w - 1);
  const topRow = clamp(Math.floor(rect.y), 0, h - 1);
  const bottomRow = clamp(Math.ceil(rect.y + rect.height) - 1, topRow, h - 1);
  // Horizontal taps, computed once per column.
  const x0s = new Int32Array(outW);
  const x1s = new Int32Array(outW);
  const fxs = new Float32Array(outW);
  for (let ox = 0; ox < outW; ox++) {
    const fx = clamp(rect.x + (ox + 0.5) * sx - 0.5, left, right);
    const x0 = Math.floor(fx);
    x0s[ox] = x0;
    x1s[ox] = Math.min(x0 + 1, right);
    fxs[ox] = fx - x0;
  }
  for (let oy = 0; oy < outH; oy++) {
    const fy = clamp(rect.y + (oy + 0.5) * sy - 0.5, topRow, bottomRow);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, bottomRow);
    const wy = fy - y0;
    const r0 = y0 * w * 4;
    const r1 = y1 * w * 4;
    for (let c = 0; c < 3; c++) {
      const src = order[c]!;
      const s = scale[c]!;
      const b = bias[c]!;
      const base = offset + c * planeStride + oy * rowStride;
      for (let ox = 0; ox < outW; ox++) {
        const a0 = x0s[ox]! * 4 + src;
        const a1 = x1s[ox]! * 4 + src;
        const wx = fxs[ox]!;
        const top = data[r0 + a0]! + (data[r0 + a1]! - data[r0 + a0]!) * wx;
        const bottom = data[r1 + a0]! + (data[r1 + a1]! - data[r1 + a0]!) * wx;
        out[base + ox] = (top + (bottom - top) * wy) * s + b;
      }
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
