import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, property, query } from 'lit/decorators.js';

/**
 * Paints RGBA bytes (an input image or a heat map) onto a canvas scaled to the element's width,
 * with nearest-neighbour sampling so small maps stay crisp.
 * @csspart canvas - The canvas.
 */
@customElement('mesh-bitmap')
export class MeshBitmap extends LitElement {
  static override styles = css`
    :host {
      display: block;
    }
    canvas {
      display: block;
      width: 100%;
      height: auto;
      image-rendering: pixelated;
      border-radius: 6px;
      background: #000;
    }
  `;

  /** RGBA bytes, `width * height * 4` long. */
  @property({ attribute: false }) accessor rgba: Uint8ClampedArray | undefined = undefined;
  /** Pixel width of the image. */
  @property({ type: Number }) accessor width = 0;
  /** Pixel height of the image. */
  @property({ type: Number }) accessor height = 0;
  /** Accessible description. */
  @property() accessor alt = '';

  @query('canvas') accessor canvas: HTMLCanvasElement | null = null;

  override render() {
    return html`<canvas part="canvas" role="img" aria-label=${this.alt} width=${this.width} height=${this.height}></canvas>`;
  }

  protected override updated(_changed: PropertyValues<this>): void {
    const canvas = this.canvas;
    const rgba = this.rgba;
    if (canvas === null || rgba === undefined || this.width < 1 || this.height < 1) return;
    if (rgba.length !== this.width * this.height * 4) return;
    const data = new ImageData(new Uint8ClampedArray(rgba), this.width, this.height);
    canvas.getContext('2d')?.putImageData(data, 0, 0);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-bitmap': MeshBitmap;
  }
}
