import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { JobWait } from '../sdk/index.ts';
import { formatMs } from './format.ts';
import { theme } from './styles.ts';

/** What the wait means for the person, beyond the coordinator's sentence: what they can do about it. */
const ADVICE: Record<JobWait['code'], string> = {
  'no-contributors': 'Keep this page open, or cancel and try later.',
  'no-capable': 'Keep this page open for a capable contributor, or cancel.',
  'bid-below-ask': 'Cancel and run again with a higher bid to start now.',
  busy: '',
  verifier: '',
  'retry-backoff': '',
};

/**
 * Why a running job's shards wait, as the coordinator explains it (a JobProgress 'waiting' event): the reason,
 * the queue position and the time left where known, and what the person can do. A polite live region, so
 * screen readers hear it when it changes.
 */
@customElement('mesh-wait-reason')
export class MeshWaitReason extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
      }
      .wait {
        margin: 10px 0 0;
        padding: 8px 10px;
        border-left: 3px solid var(--mw-accent);
        background: var(--mw-surface-2, transparent);
        font-size: 0.88rem;
        overflow-wrap: anywhere;
      }
      .meta {
        color: var(--mw-muted);
        font-size: 0.8rem;
        margin-top: 4px;
      }
    `,
  ];

  /** The current wait; undefined when nothing waits. */
  @property({ attribute: false }) accessor wait: JobWait | undefined = undefined;

  override render() {
    const w = this.wait;
    return html`<div role="status" aria-live="polite" data-testid="wait-region">
      ${w
        ? html`<div class="wait" data-testid="wait-reason" data-code=${w.code}>
            <div data-testid="wait-message">${w.message}</div>
            <div class="meta">${meta(w)}</div>
          </div>`
        : nothing}
    </div>`;
  }
}

/** The secondary line: position, time left, who is online, and advice. */
function meta(w: JobWait): string {
  const parts: string[] = [];
  if (w.position !== undefined && w.position > 1) parts.push(`Position ${w.position} in the queue`);
  if (w.etaMs !== undefined) parts.push(w.code === 'busy' ? `about ${formatMs(w.etaMs)} to finish` : `about ${formatMs(w.etaMs)}`);
  parts.push(`${w.online} contributor${w.online === 1 ? '' : 's'} online`);
  if (w.lowestAsk !== undefined && w.code === 'bid-below-ask') parts.push(`lowest ask ${w.lowestAsk} µcredits / work unit, your bid ${w.bid}`);
  const advice = ADVICE[w.code];
  return parts.join(' · ') + (advice ? `. ${advice}` : '');
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-wait-reason': MeshWaitReason;
  }
}
