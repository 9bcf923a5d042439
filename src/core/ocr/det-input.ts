/**
 * The PP-OCR text detector's input: each image resized so its longer side is at most `limitSide` (never
 * enlarged), both sides rounded to a multiple of 32 (the network downsamples by 32), then normalised per channel as
 * PaddleOCR's NormalizeImage does, (x / 255 - mean) / std, into f32 NCHW. Images of one batch share one size.
 */
import { checkImage, type RgbaImage, resizeToPlanes } from './image.ts';

/** Per-channel mean of PaddleOCR's NormalizeImage (RGB order). */
export const DET_MEAN = [0.485, 0.456, 0.406] as const;
/** Per-channel standard deviation of PaddleOCR's NormalizeImage (RGB order). */
export const DET_STD = [0.229, 0.224, 0.225] as const;
/** Longer side of the detector input by default (PaddleOCR's det_limit_side_len). */
export const DET_LIMIT_SIDE = 960;

/** A detector input size in pixels. */
export interface DetSize {
  width: number;
  height: number;
}

/** The detector input size of a width x height image: scaled down to fit `limitSide`, sides multiples of 32. */
export function detInputSize(width: number, height: number, limitSide = DET_LIMIT_SIDE): DetSize {
  if (!Number.isInteger(limitSide) || limitSide < 32 || limitSide > 4096) {
    throw new RangeError(`Cannot size the detector input as 'limitSide' must be an integer in [32, 4096]: current value is ${limitSide}`);
  }
  const ratio = Math.max(width, height) > limitSide ? limitSide / Math.max(width, height) : 1;
  const round32 = (v: number) => Math.max(32, Math.round((v * ratio) / 32) * 32);
  return { width: round32(width), height: round32(height) };
}

/** The images resized to `size` and normalised, as one f32 tensor of dims [n, 3, size.height, size.width]. */
export function detInput(images: readonly RgbaImage[], size: DetSize): Float32Array {
  const { width, height } = size;
  const plane = width * height;
  const out = new Float32Array(images.length * 3 * plane);
  const scale = DET_STD.map((s) => 1 / (255 * s)) as unknown as [number, number, number];
  const bias = DET_MEAN.map((m, c) => -m / DET_STD[c]!) as unknown as [number, number, number];
  images.forEach((img, i) => {
    checkImage(img, `image ${i}`);
    resizeToPlanes(img, { x: 0, y: 0, width: img.width, height: img.height }, width, height, {
      out, offset: i * 3 * plane, rowStride: width, planeStride: plane, order: [0, 1, 2], scale, bias,
    });
  });
  return out;
}
