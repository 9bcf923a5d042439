/**
 * The PP-OCR recogniser's input: each text box cropped from its image, resized to height 48 keeping its aspect
 * (width rounded up, capped at REC_MAX_WIDTH), normalised as (x / 255 - 0.5) / 0.5 in BGR order (PaddleOCR reads
 * images with OpenCV), and written left-aligned into a slot of its batch's common width; the rest of the slot is 0
 * (mid grey after normalisation), PaddleOCR's padding. Crops are batched by width: sorted, then cut into runs of
 * `maxBatch`, each padded to its widest crop (at least REC_MIN_WIDTH, the width the model was trained at), so
 * padding wastes little and every crop of a batch shares one tensor shape.
 */
import { checkImage, type Rect, type RgbaImage, resizeToPlanes } from './image.ts';

/** Input height of the recogniser. */
export const REC_HEIGHT = 48;
/** Narrowest slot: PP-OCRv4's training shape is 3 x 48 x 320. */
export const REC_MIN_WIDTH = 320;
/** Widest crop; wider lines are squeezed to it (aspect ratio 50:1). */
export const REC_MAX_WIDTH = 2400;
/** Input pixels per output time step of the recogniser (its horizontal downsampling). */
export const REC_STEP = 8;

/** One text box to read: which image it lies in and where. */
export interface Crop {
  image: number;
  rect: Rect;
}

/** One recogniser batch: the crops it holds (indices into the crop list, in slot order) and its slot width. */
export interface RecBatch {
  crops: number[];
  width: number;
}

/** Width of a crop resized to REC_HEIGHT keeping its aspect, in [1, REC_MAX_WIDTH]. */
export function recWidth(rect: Rect): number {
  if (!(rect.width > 0 && rect.height > 0)) {
    throw new RangeError(`Cannot size a crop as its sides must be positive: current size is ${rect.width}x${rect.height}`);
  }
  return Math.min(REC_MAX_WIDTH, Math.max(1, Math.ceil((REC_HEIGHT * rect.width) / rect.height)));
}

/** Groups crops of the given resized widths into batches of at most `maxBatch`, narrowest first. */
export function planRecBatches(widths: readonly number[], maxBatch: number, minWidth = REC_MIN_WIDTH): RecBatch[] {
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 1024) {
    throw new RangeError(`Cannot batch crops as 'maxBatch' must be an integer in [1, 1024]: current value is ${maxBatch}`);
  }
  const order = widths.map((_, i) => i).sort((a, b) => widths[a]! - widths[b]! || a - b);
  const batches: RecBatch[] = [];
  for (let i = 0; i < order.length; i += maxBatch) {
    const crops = order.slice(i, i + maxBatch);
    const widest = Math.max(...crops.map((c) => widths[c]!));
    batches.push({ crops, width: Math.max(minWidth, Math.ceil(widest / REC_STEP) * REC_STEP) });
  }
  return batches;
}

/** The output time steps that cover a crop of `width` resized pixels (one more for the receptive field's edge). */
export function recSteps(width: number, steps: number): number {
  return Math.min(steps, Math.ceil(width / REC_STEP) + 1);
}

/** One batch's input, f32 [crops.length, 3, REC_HEIGHT, batch.width]. */
export function recInput(images: readonly RgbaImage[], crops: readonly Crop[], batch: RecBatch): Float32Array {
  const slotW = batch.width;
  const plane = REC_HEIGHT * slotW;
  const out = new Float32Array(batch.crops.length * 3 * plane);
  batch.crops.forEach((index, slot) => {
    const crop = crops[index];
    const img = crop === undefined ? undefined : images[crop.image];
    if (crop === undefined || img === undefined) throw new RangeError(`Cannot crop box ${index} as its crop or image is missing`);
    checkImage(img, `image ${crop.image}`);
    const w = Math.min(recWidth(crop.rect), slotW);
    resizeToPlanes(img, crop.rect, w, REC_HEIGHT, {
      out, offset: slot * 3 * plane, rowStride: slotW, planeStride: plane, order: [2, 1, 0], scale: [2 / 255, 2 / 255, 2 / 255], bias: [-1, -1, -1],
    });
  });
  return out;
}
