// Deterministic text for the OCR spec: short English lines of words and digits in the DejaVu fonts Chromium has
// here, 20-40 px, rendered on OffscreenCanvas into a few page images (several lines each, so the detector must
// find every line), with the truth of each line.

import { prng } from '../../src/ui/text-images.ts';

const WORDS = [
  'the', 'mesh', 'runs', 'on', 'idle', 'browsers', 'and', 'pays', 'for', 'verified', 'work', 'every', 'shard', 'is',
  'checked', 'twice', 'before', 'credit', 'moves', 'model', 'text', 'line', 'read', 'from', 'page', 'fast', 'small',
  'green', 'river', 'stone', 'paper', 'window', 'market', 'order', 'total', 'price', 'north', 'south', 'winter', 'summer',
  'Monday', 'Friday', 'London', 'Paris', 'Berlin', 'Tokyo', 'Open', 'Close', 'Send', 'Print', 'Invoice', 'Receipt',
];
const FONTS = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono'];

/** A rendered page image and the lines drawn on it, top to bottom. */
export interface OcrPage {
  image: ImageData;
  lines: string[];
}

/** `total` lines from `seed`, `perPage` lines to a page of `width` px. */
export function renderOcrPages(seed: number, total: number, perPage: number, width = 720): OcrPage[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const pages: OcrPage[] = [];
  for (let first = 0; first < total; first += perPage) {
    const count = Math.min(perPage, total - first);
    const specs = Array.from({ length: count }, () => {
      const size = 20 + Math.floor(rand() * 21);
      const font = `${size}px "${pick(FONTS)}"`;
      const words = 2 + Math.floor(rand() * 4);
      const parts = Array.from({ length: words }, () => (rand() < 0.25 ? String(Math.floor(rand() * (rand() < 0.5 ? 100 : 10000))) : pick(WORDS)));
      return { size, font, parts, indent: 12 + Math.floor(rand() * 60), gap: 0.6 + rand() * 0.5 };
    });
    const height = Math.ceil(specs.reduce((sum, s) => sum + s.size * (1 + s.gap), 0) + 24);
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    const shade = 236 + Math.floor(rand() * 16);
    ctx.fillStyle = `rgb(${shade}, ${shade - 2}, ${shade - 8})`;
    ctx.fillRect(0, 0, width, height);
    let y = 12;
    const lines: string[] = [];
    for (const s of specs) {
      ctx.font = s.font;
      // Words are dropped from the end until the line fits the page.
      while (s.parts.length > 1 && s.indent + ctx.measureText(s.parts.join(' ')).width > width - 12) s.parts.pop();
      const text = s.parts.join(' ');
      const ink = 10 + Math.floor(rand() * 50);
      ctx.fillStyle = `rgb(${ink}, ${ink}, ${ink + 10})`;
      ctx.textBaseline = 'top';
      ctx.fillText(text, s.indent, y);
      lines.push(text);
      y += s.size * (1 + s.gap);
    }
    pages.push({ image: ctx.getImageData(0, 0, width, height), lines });
  }
  return pages;
}
