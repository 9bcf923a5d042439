// Draws the Meshwork icon (a small network of nodes on a blue tile) as SVG and as PNGs, with no dependencies:
// the PNGs are rasterised here with 4x4 supersampling and written with node:zlib. Run: node scripts/make-icons.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const OUT = new URL('../public/icons/', import.meta.url);
const BG_TOP = [58, 124, 236];
const BG_BOTTOM = [34, 84, 190];
const NODES = [[150, 168], [360, 146], [258, 268], [142, 366], [374, 362]];
const EDGES = [[0, 1], [0, 2], [1, 2], [2, 3], [2, 4], [3, 4], [1, 4], [0, 3]];
const NODE_R = 36;
const EDGE_W = 20;

function svg() {
  const lines = EDGES.map(([a, b]) => {
    const [x1, y1] = NODES[a];
    const [x2, y2] = NODES[b];
    return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"/>`;
  }).join('');
  const dots = NODES.map(([x, y]) => `<circle cx="${x}" cy="${y}" r="${NODE_R}"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="rgb(${BG_TOP})"/><stop offset="1" stop-color="rgb(${BG_BOTTOM})"/></linearGradient></defs>
<rect width="512" height="512" rx="112" fill="url(#g)"/>
<g stroke="#fff" stroke-opacity="0.78" stroke-width="${EDGE_W}" stroke-linecap="round">${lines}</g>
<g fill="#fff">${dots}</g>
</svg>
`;
}

function segDist(px, py, [x1, y1], [x2, y2]) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const t = Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - x1 - t * dx, py - y1 - t * dy);
}

function insideRoundRect(x, y, size, r) {
  const cx = Math.max(r, Math.min(size - r, x));
  const cy = Math.max(r, Math.min(size - r, y));
  return Math.hypot(x - cx, y - cy) <= r;
}

/** RGBA sample at (x, y) in 512-unit icon space; `bleed` fills the whole square (maskable icons). */
function sample(x, y, bleed) {
  // Maskable icons keep their artwork inside the central 80% safe zone.
  const s = bleed ? 0.8 : 1;
  const u = (x - 256) / s + 256;
  const v = (y - 256) / s + 256;
  if (!bleed && !insideRoundRect(x, y, 512, 112)) return [0, 0, 0, 0];
  const f = Math.max(0, Math.min(1, y / 512));
  let c = BG_TOP.map((t, i) => t + (BG_BOTTOM[i] - t) * f);
  if (EDGES.some(([a, b]) => segDist(u, v, NODES[a], NODES[b]) <= EDGE_W / 2)) c = c.map((t) => t + (255 - t) * 0.78);
  if (NODES.some(([nx, ny]) => Math.hypot(u - nx, v - ny) <= NODE_R)) c = [255, 255, 255];
  return [...c, 255];
}

function raster(size, bleed) {
  const ss = 4;
  const px = Buffer.alloc(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (let j = 0; j < ss; j++) {
        for (let i = 0; i < ss; i++) {
          const s = sample(((x + (i + 0.5) / ss) * 512) / size, ((y + (j + 0.5) / ss) * 512) / size, bleed);
          // Premultiply so transparent corner samples do not darken the edge.
          for (let k = 0; k < 3; k++) acc[k] += s[k] * (s[3] / 255);
          acc[3] += s[3];
        }
      }
      const a = acc[3] / (ss * ss);
      const o = (y * size + x) * 4;
      for (let k = 0; k < 3; k++) px[o + k] = a > 0 ? Math.round((acc[k] / (ss * ss)) * (255 / a)) : 0;
      px[o + 3] = Math.round(a);
    }
  }
  return px;
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

writeFileSync(new URL('icon.svg', OUT), svg());
for (const size of [192, 512]) writeFileSync(new URL(`icon-${size}.png`, OUT), png(size, raster(size, false)));
writeFileSync(new URL('icon-maskable-512.png', OUT), png(512, raster(512, true)));
console.log('icons written to', OUT.pathname);
