/**
 * The images `ocr` accepts, as RGBA bytes. ImageData and plain RGBA are copied at once (`snapshot`), so the caller
 * may reuse them as soon as the call returns; bitmaps, images and canvases are drawn onto an OffscreenCanvas and
 * read back; Blobs are decoded with createImageBitmap first.
 */
import { checkImage, checkImageSize, type RgbaImage } from '../core/ocr/index.ts';
import type { OcrImage } from './types.ts';

/** An image as given, or its RGBA copy when that could be taken at once. */
export type ImageSnapshot = RgbaImage | Exclude<OcrImage, ImageData>;

/** Copies what can be copied synchronously (ImageData, plain RGBA), checking its size. */
export function snapshot(img: OcrImage, index: number): ImageSnapshot {
  if (isRgba(img)) {
    const copy = { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data) };
    checkImage(copy, `image ${index}`);
    return copy;
  }
  return img;
}

/** The image's RGBA bytes. */
export async function toRgba(img: ImageSnapshot, index: number): Promise<RgbaImage> {
  if (isRgba(img)) return img;
  if (typeof Blob !== 'undefined' && img instanceof Blob) {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(img);
    } catch (err) {
      throw new TypeError(`Cannot decode image ${index} as its ${img.type || 'untyped'} blob of ${img.size} bytes is not an image this browser reads`, { cause: err });
    }
    try {
      return draw(bitmap, bitmap.width, bitmap.height, index);
    } finally {
      bitmap.close();
    }
  }
  const source = img as Exclude<ImageSnapshot, RgbaImage | Blob>;
  const { width, height } = 'naturalWidth' in source ? { width: source.naturalWidth, height: source.naturalHeight } : source;
  return draw(source, width, height, index);
}

function draw(source: CanvasImageSource | OffscreenCanvas, width: number, height: number, index: number): RgbaImage {
  checkImageSize(width, height, `image ${index}`);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error(`Cannot read image ${index} as OffscreenCanvas 2d is unavailable`);
  ctx.drawImage(source as CanvasImageSource, 0, 0);
  return { width, height, data: ctx.getImageData(0, 0, width, height).data };
}

function isRgba(img: unknown): img is RgbaImage {
  if (typeof ImageData !== 'undefined' && img instanceof ImageData) return true;
  const o = img as { data?: unknown } | null;
  return typeof o === 'object' && o !== null && (o.data instanceof Uint8ClampedArray || o.data instanceof Uint8Array);
}
