import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { theme } from './styles.ts';

/**
 * A labelled, accessible progress bar: `value` of `max` with a text label beside the bar.
 * `value` and `max` are reflected as attributes so tests can read them.
 * @csspart track - The bar's background.
 * @csspart fill - The filled part.
 */
@customElement('mesh-progress-bar')
export class MeshProgressBar extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
      }
      .top {
        display: flex;
        justify-content: space-between;
        gap: 12px;
        font-size: 0.82rem;
        color: var(--mw-muted);
        margin-bottom: 6px;
        font-variant-numeric: tabular-nums;
      }
      .track {
        height: 8px;
        border-radius: 999px;
        background: var(--mw-surface-2);
        border: 1px solid var(--mw-border);
        overflow: hidden;
      }
      .sr-only {
        position: absolute;
        width: 1px;
        height: 1px;
        overflow: hidden;
        clip: rect(0, 0, 0, 0);
      }
      .fill {
        height: 100%;
        background: var(--mw-accent);
        border-radius: inherit;
        transition: width 160ms ease-out;
      }
      :host([state='failed']) .fill {
        background: var(--mw-danger);
      }
      :host([state='done']) .fill {
        background: var(--mw-ok);
      }
      :host([state='cancelled']) .fill {
        background: var(--mw-muted);
      }
    `,
  ];

  /** Work done so far. */
  @property({ type: Number, reflect: true }) accessor value = 0;
  /** Total work; 0 means unknown (an empty bar). */
  @property({ type: Number, reflect: true }) accessor max = 0;
  /** Text shown above the bar on the left. */
  @property() accessor label = '';
  /** 'running' | 'done' | 'failed' | 'cancelled': colours the bar (cancelled is neutral grey, not a failure). */
  @property({ reflect: true }) accessor state = 'running';

  override render() {
    const fraction = this.max > 0 ? Math.min(1, Math.max(0, this.value / this.max)) : 0;
    return html`
      <div class="top" role="status" aria-live="polite" aria-atomic="true">
        <span data-testid="progress-label">${this.label}</span><span>${this.value} / ${this.max}<span class="sr-only"> shards</span></span>
      </div>
      <div
        class="track"
        part="track"
        role="progressbar"
        aria-valuemin="0"
        aria-valuemax=${this.max}
        aria-valuenow=${this.value}
        aria-label=${`Shards settled: ${this.label || 'progress'}`}
      >
        <div class="fill" part="fill" style="width:${(fraction * 100).toFixed(2)}%"></div>
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-progress-bar': MeshProgressBar;
  }
}
