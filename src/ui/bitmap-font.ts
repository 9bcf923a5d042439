/**
 * A 5x7 bitmap font (upper-case letters, digits, a little punctuation).
 *
 * Why a bitmap font rather than canvas text: canvas glyphs depend on the fonts installed and the platform's
 * rasteriser, so the same call gives different pixels on different machines, and Deno (unit tests) has no
 * canvas. Glyph rectangles drawn with exact area coverage give the same bytes everywhere.
 */

/** Glyph width and height in font cells. */
export const GLYPH_W = 5;
/** Glyph height in font cells. */
export const GLYPH_H = 7;

const GLYPHS: Record<string, string> = {
  A: '01110 10001 10001 11111 10001 10001 10001',
  B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110',
  D: '11100 10010 10001 10001 10001 10010 11100',
  E: '11111 10000 10000 11110 10000 10000 11111',
  F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111',
  H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110',
  J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001',
  L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001',
  N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110',
  P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101',
  R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110',
  T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110',
  V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010',
  X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 10001 01010 00100 00100 00100',
  Z: '11111 00001 00010 00100 01000 10000 11111',
  '0': '01110 10001 10011 10101 11001 10001 01110',
  '1': '00100 01100 00100 00100 00100 00100 01110',
  '2': '01110 10001 00001 00010 00100 01000 11111',
  '3': '11111 00010 00100 00010 00001 10001 01110',
  '4': '00010 00110 01010 10010 11111 00010 00010',
  '5': '11111 10000 11110 00001 00001 10001 01110',
  '6': '00110 01000 10000 11110 10001 10001 01110',
  '7': '11111 00001 00010 00100 01000 01000 01000',
  '8': '01110 10001 10001 01110 10001 10001 01110',
  '9': '01110 10001 10001 01111 00001 00010 01100',
  '-': '00000 00000 00000 11111 00000 00000 00000',
  '.': '00000 00000 00000 00000 00000 01100 01100',
  ',': '00000 00000 00000 00000 01100 00100 01000',
  ':': '00000 01100 01100 00000 01100 01100 00000',
  '/': '00001 00001 00010 00100 01000 10000 10000',
  ' ': '00000 00000 00000 00000 00000 00000 00000',
};

/** Cells [col, row] that are ink in `ch`, or undefined when the font lacks the character. */
function cells(ch: string): [number, number][] | undefined {
  const rows = GLYPHS[ch]?.split(' ');
  if (rows === undefined) return undefined;
  const out: [number, number][] = [];
  rows.forEach((bits, row) => {
    for (let col = 0; col < GLYPH_W; col++) if (bits[col] === '1') out.push([col, row]);
  });
  return out;
}

const CELLS = new Map(Object.keys(GLYPHS).map((ch) => [ch, cells(ch) ?? []]));

/** True when every character of `text` (case-insensitive) is in the font. */
export function canRender(text: string): boolean {
  return [...text.toUpperCase()].every((ch) => CELLS.has(ch));
}

/** Width in pixels of `text` drawn at `scale` pixels per font cell (one blank cell between glyphs). */
export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_W + 1) - 1) * scale;
}

/**
 * Adds the ink coverage (0..1 per pixel, exact rectangle area, clamped) of `text` to `cov` (h x w, row-major),
 * with the glyph box's top-left corner at (x, y) in pixels.
 */
export function drawText(cov: Float32Array, w: number, h: number, text: string, x: number, y: number, scale: number): void {
  if (!(scale > 0)) throw new RangeError(`Cannot draw text as 'scale' must be positive: current value is ${scale}`);
  let pen = x;
  for (const ch of text.toUpperCase()) {
    const glyph = CELLS.get(ch);
    if (glyph === undefined) throw new RangeError(`Cannot draw text as the font lacks a glyph: current value is '${ch}'`);
    for (const [col, row] of glyph) fillRect(cov, w, h, pen + col * scale, y + row * scale, scale, scale);
    pen += (GLYPH_W + 1) * scale;
  }
}

/** Adds the exact area coverage of the rectangle [x, x+rw) x [y, y+rh) to `cov`, clamped to 1. */
function fillRect(cov: Float32Array, w: number, h: number, x: number, y: number, rw: number, rh: number): void {
  const x1 = x + rw;
  const y1 = y + rh;
  for (let py = Math.max(0, Math.floor(y)); py < Math.min(h, Math.ceil(y1)); py++) {
    const oy = Math.min(y1, py + 1) - Math.max(y, py);
    for (let px = Math.max(0, Math.floor(x)); px < Math.min(w, Math.ceil(x1)); px++) {
      const ox = Math.min(x1, px + 1) - Math.max(x, px);
      const i = py * w + px;
      cov[i] = Math.min(1, (cov[i] ?? 0) + ox * oy);
    }
  }
}
