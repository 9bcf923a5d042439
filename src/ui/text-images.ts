/**
 * Deterministic synthetic text images, the demo input of the PP-OCR text detector.
 *
 * An image depends only on (h, w, seed, index): the same call gives the same bytes in every browser, worker
 * and Deno, and a batch of n is a prefix of a batch of n + 1. Tensors are f32 NCHW in RGB order, normalised as
 * PaddleOCR's detector expects: (x / 255 - mean) / std.
 */
import { canRender, drawText, GLYPH_H, textWidth } from './bitmap-font.ts';

/** Per-channel mean of PaddleOCR's NormalizeImage (RGB order). */
export const PADDLE_MEAN = [0.485, 0.456, 0.406] as const;
/** Per-channel standard deviation of PaddleOCR's NormalizeImage (RGB order). */
export const PADDLE_STD = [0.229, 0.224, 0.225] as const;

const WORDS = [
  'MESH', 'BROWSER', 'SHARD', 'CREDIT', 'VERIFY', 'WEBGPU', 'KERNEL', 'TENSOR', 'PEER', 'LEDGER', 'ONNX', 'IDLE',
  'COMPUTE', 'INVOICE', 'TOTAL', 'RECEIPT', 'ORDER', 'NO.', '2048', '12.50', '07/11', 'QTY:', 'PAID', 'DUE',
  'SIGNAL', 'LEASE', 'ESCROW', 'BATCH', 'MODEL', 'WORKER', 'CACHE', 'HASH', '42', '3.14', 'A-7', 'OK',
];

/** One rendered image: RGBA bytes (h x w x 4) and the text lines drawn on it. */
export interface TextImage {
  rgba: Uint8ClampedArray;
  lines: string[];
}

/** mulberry32: a small, fast, well-mixed 32-bit PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes the batch seed and image index into one image seed (so neighbours are unrelated). */
function imageSeed(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

function checkSize(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 4096) {
    throw new RangeError(`Cannot render text images as '${name}' must be an integer in [${min}, 4096]: current value is ${v}`);
  }
}

/** Renders image `index` of the batch `seed`: dark text lines of varying words, sizes and positions. */
export function renderTextImage(h: number, w: number, seed: number, index = 0): TextImage {
  checkSize('h', h, 16);
  checkSize('w', w, 16);
  const rand = prng(imageSeed(seed, index));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const cov = new Float32Array(h * w);
  const maxLines = Math.max(1, Math.min(5, Math.floor(h / 24)));
  const nLines = 1 + Math.floor(rand() * maxLines);
  const band = h / nLines;
  const lines: string[] = [];
  for (let l = 0; l < nLines; l++) {
    const scale = Math.min(1.2 + rand() * 2.4, (band * 0.8) / GLYPH_H);
    const words: string[] = [];
    const target = 1 + Math.floor(rand() * 4);
    while (words.length < target) {
      const word = pick(WORDS);
      if (textWidth([...words, word].join(' '), scale) > w - 8) break;
      words.push(word);
    }
    if (words.length === 0) continue;
    const text = words.join(' ');
    if (!canRender(text)) continue;
    const x = 4 + rand() * Math.max(0, w - 8 - textWidth(text, scale));
    const y = l * band + rand() * Math.max(0, band - GLYPH_H * scale);
    drawText(cov, w, h, text, x, y, scale);
    lines.push(text);
  }
  const bg = [228 + rand() * 26, 228 + rand() * 26, 222 + rand() * 30];
  const fg = [10 + rand() * 60, 10 + rand() * 60, 10 + rand() * 80];
  const rgba = new Uint8ClampedArray(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    const c = cov[p] ?? 0;
    const grain = (rand() - 0.5) * 6;
    for (let ch = 0; ch < 3; ch++) rgba[p * 4 + ch] = (bg[ch] as number) * (1 - c) + (fg[ch] as number) * c + grain;
    rgba[p * 4 + 3] = 255;
  }
  return { rgba, lines };
}

/** Writes RGBA bytes into `out` at image slot `index` as normalised f32 NCHW (RGB). */
export function rgbaToNchw(rgba: Uint8ClampedArray, h: number, w: number, out: Float32Array, index: number): void {
  const plane = h * w;
  if (rgba.length !== plane * 4) throw new RangeError(`Cannot convert RGBA as its length must be ${plane * 4}: current value is ${rgba.length}`);
  for (let c = 0; c < 3; c++) {
    const base = (index * 3 + c) * plane;
    const mean = PADDLE_MEAN[c] as number;
    const std = PADDLE_STD[c] as number;
    for (let p = 0; p < plane; p++) out[base + p] = ((rgba[p * 4 + c] as number) / 255 - mean) / std;
  }
}

/** Reverses the normalisation of image `index` of an NCHW batch back to RGBA bytes (for previews). */
export function nchwToRgba(batch: Float32Array, index: number, h: number, w: number): Uint8ClampedArray {
  const plane = h * w;
  const rgba = new Uint8ClampedArray(plane * 4);
  for (let c = 0; c < 3; c++) {
    const base = (index * 3 + c) * plane;
    const mean = PADDLE_MEAN[c] as number;
    const std = PADDLE_STD[c] as number;
    for (let p = 0; p < plane; p++) rgba[p * 4 + c] = Math.round(((batch[base + p] ?? 0) * std + mean) * 255);
  }
  for (let p = 0; p < plane; p++) rgba[p * 4 + 3] = 255;
  return rgba;
}

/** n text images of h x w from `seed`, as one normalised f32 tensor of dims [n, 3, h, w]. Deterministic. */
export function renderTextBatch(n: number, h: number, w: number, seed: number): Float32Array {
  if (!Number.isInteger(n) || n < 1 || n > 4096) {
    throw new RangeError(`Cannot render text images as 'n' must be an integer in [1, 4096]: current value is ${n}`);
  }
  const out = new Float32Array(n * 3 * h * w);
  for (let i = 0; i < n; i++) rgbaToNchw(renderTextImage(h, w, seed, i).rgba, h, w, out, i);
  return out;
}
