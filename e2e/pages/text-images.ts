// Renders lines of text into NCHW float tensors normalised as PaddleOCR expects: (x/255 - mean) / std.

const WORDS = ['mesh', 'browser', 'shard', 'credit', 'verify', 'WebGPU', 'kernel', 'tensor', 'peer', 'ledger', 'ONNX', 'idle'];
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** n images of h x w with a few lines of different words each, as one f32 [n,3,h,w] tensor. */
export function renderTextImages(n: number, h: number, w: number): Float32Array {
  const out = new Float32Array(n * 3 * h * w);
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('Cannot render text images as OffscreenCanvas 2d is unavailable');
  for (let i = 0; i < n; i++) {
    ctx.fillStyle = `rgb(${235 - (i % 4) * 10}, 235, ${225 + (i % 3) * 10})`;
    ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = '#111';
    const lines = 1 + (i % 3);
    for (let l = 0; l < lines; l++) {
      const size = 14 + ((i + l) % 4) * 4;
      ctx.font = `${size}px DejaVu Sans, sans-serif`;
      const text = `${WORDS[(i + l) % WORDS.length]} ${WORDS[(i * 5 + l * 3) % WORDS.length]} ${i}`;
      ctx.fillText(text, 6 + ((i * 7) % 20), 8 + size + l * (h / (lines + 0.5)));
    }
    const px = ctx.getImageData(0, 0, w, h).data;
    for (let c = 0; c < 3; c++) {
      const base = (i * 3 + c) * h * w;
      for (let p = 0; p < h * w; p++) out[base + p] = (px[p * 4 + c]! / 255 - MEAN[c]!) / STD[c]!;
    }
  }
  return out;
}
