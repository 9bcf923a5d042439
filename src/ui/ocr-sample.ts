/** A sample page for the OCR panel: a few lines of text in the DejaVu fonts, drawn on an OffscreenCanvas. */

const SAMPLE = [
  { text: 'Meshwork reads text', font: '34px "DejaVu Serif", serif' },
  { text: 'on browsers that lend their idle time', font: '24px "DejaVu Sans", sans-serif' },
  { text: 'Invoice 2048 total 12.50 paid', font: '26px "DejaVu Sans Mono", monospace' },
  { text: 'detector, crops, recogniser, decoded here', font: '22px "DejaVu Sans", sans-serif' },
];

/** The sample page as ImageData (640 px wide). */
export function renderOcrSample(): ImageData {
  const width = 640;
  const height = 250;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('Cannot draw the OCR sample as OffscreenCanvas 2d is unavailable');
  ctx.fillStyle = '#f7f5ef';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#1d1f24';
  ctx.textBaseline = 'top';
  let y = 22;
  for (const { text, font } of SAMPLE) {
    ctx.font = font;
    ctx.fillText(text, 24, y);
    y += 56;
  }
  return ctx.getImageData(0, 0, width, height);
}
