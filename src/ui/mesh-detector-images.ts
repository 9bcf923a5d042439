import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { formatPercent } from './format.ts';
import './mesh-bitmap.ts';
import { controls, theme } from './styles.ts';
import { renderTextImage, type TextImage } from './text-images.ts';

/** Probability above which the detector counts a pixel as text (PaddleOCR's DB post-process default). */
export const TEXT_THRESHOLD = 0.3;

/** Per-image outcome of the detector demo: share of text pixels and the probability map as a picture. */
export interface ImageResult {
  fraction: number;
  heat: Uint8ClampedArray;
}

/**
 * The detector demo's images: the generated inputs before a job, then each input beside its text probability map
 * with the share of text pixels.
 */
@customElement('mesh-detector-images')
export class MeshDetectorImages extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
      }
      .thumbs {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(132px, 1fr));
        gap: 12px;
      }
      figure {
        margin: 0;
        display: flex;
        flex-direction: column;
        gap: 6px;
      }
      figcaption {
        font-size: 0.78rem;
        color: var(--mw-muted);
        display: flex;
        justify-content: space-between;
        gap: 6px;
      }
      .pair {
        display: grid;
        grid-template-columns: 1fr 1fr;
        gap: 4px;
      }
      .results {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
        gap: 14px;
      }
      .empty {
        font-size: 0.88rem;
        color: var(--mw-muted);
      }
    `,
  ];

  /** The first inputs, rendered ahead of the job. */
  @property({ attribute: false }) accessor previews: TextImage[] = [];
  /** One result per image once the job is done; empty before. */
  @property({ attribute: false }) accessor results: ImageResult[] = [];
  /** Images in the job. */
  @property({ type: Number }) accessor count = 0;
  /** Side of each image in pixels. */
  @property({ type: Number }) accessor size = 0;
  /** Seed the inputs were generated from (results past the previews are rendered again from it). */
  @property({ type: Number }) accessor seed = 0;

  override render() {
    return html`
      <section class="card" aria-labelledby="io-h">
        <h2 id="io-h">${this.results.length > 0 ? 'Results' : 'Inputs'}</h2>
        ${this.results.length > 0 ? this.#renderResults() : this.#renderPreviews()}
      </section>
    `;
  }

  #renderPreviews() {
    const more = this.count - this.previews.length;
    return html`
      <div class="thumbs" data-testid="previews">
        ${this.previews.map(
          (p, i) => html`<figure>
            <mesh-bitmap .rgba=${p.rgba} .width=${this.size} .height=${this.size} alt=${p.lines.join(' / ')}></mesh-bitmap>
            <figcaption><span>#${i}</span><span>${p.lines.length} line${p.lines.length === 1 ? '' : 's'}</span></figcaption>
          </figure>`,
        )}
      </div>
      ${more > 0 ? html`<p class="empty">…and ${more} more generated when the job runs.</p>` : nothing}
    `;
  }

  #renderResults() {
    const mean = this.results.reduce((a, r) => a + r.fraction, 0) / this.results.length;
    return html`
      <p class="lead" data-testid="results-summary">
        ${this.results.length} images · mean text-pixel share ${formatPercent(mean)} (probability &gt; ${TEXT_THRESHOLD})
      </p>
      <div class="results">
        ${this.results.map((r, i) => {
          const input = i < this.previews.length ? this.previews[i] : renderTextImage(this.size, this.size, this.seed, i);
          return html`<figure data-testid="result-${i}" data-fraction=${r.fraction}>
            <div class="pair">
              <mesh-bitmap .rgba=${input?.rgba} .width=${this.size} .height=${this.size} alt="input ${i}"></mesh-bitmap>
              <mesh-bitmap .rgba=${r.heat} .width=${this.size} .height=${this.size} alt="text probability map ${i}"></mesh-bitmap>
            </div>
            <figcaption><span>#${i}</span><span>${formatPercent(r.fraction)} text</span></figcaption>
          </figure>`;
        })}
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-detector-images': MeshDetectorImages;
  }
}
