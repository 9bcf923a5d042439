import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { JobSummary } from '../sdk/history.ts';
import { formatCredits, formatMs } from './format.ts';
import { controls, theme } from './styles.ts';

const OUTCOME_PILL: Record<JobSummary['outcome'], string> = { done: 'ok', cancelled: '', failed: 'bad' };

/**
 * This device's past client jobs, newest first: when, what, shards, outcome, what it cost (paid to contributors
 * plus fees) and what was refunded. The table scrolls inside its box on narrow screens, never the page.
 * @csspart table - The table.
 */
@customElement('mesh-job-history')
export class MeshJobHistory extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
      }
      .wrap {
        overflow-x: auto;
        max-height: 320px;
      }
      .empty {
        font-size: 0.88rem;
        color: var(--mw-muted);
      }
    `,
  ];

  /** Jobs, newest first. */
  @property({ attribute: false }) accessor jobs: readonly JobSummary[] = [];

  override render() {
    if (this.jobs.length === 0) return html`<p class="empty" data-testid="history-empty">No jobs yet. Jobs you run from this device are listed here.</p>`;
    return html`<div class="wrap" tabindex="0" role="region" aria-label="Job history">
      <table part="table" data-testid="job-history">
        <thead>
          <tr><th>When</th><th>Job</th><th class="num">Shards</th><th>Outcome</th><th class="num">Cost (credits, incl. fees)</th><th class="num">Refunded (credits)</th></tr>
        </thead>
        <tbody>
          ${this.jobs.map(
            (j) => html`<tr data-testid="history-row" data-outcome=${j.outcome} data-job=${j.jobId}>
              <td>${new Date(j.at).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'short' })}</td>
              <td>${j.label}</td>
              <td class="num">${j.shards}</td>
              <td><span class="pill ${OUTCOME_PILL[j.outcome]}" title=${j.error ?? ''}>${j.outcome}</span>${j.outcome === 'done' ? html` <span class="muted">${formatMs(j.ms)}</span>` : ''}</td>
              <td class="num">${formatCredits(j.spent + j.fees)}</td>
              <td class="num">${formatCredits(j.refunded)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-job-history': MeshJobHistory;
  }
}
