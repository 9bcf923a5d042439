import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { formatMs, shortId } from './format.ts';
import type { ShardLine } from './shard-log.ts';
import { controls, theme } from './styles.ts';

/**
 * The contributor's recent shards: time, job, shard, outcome (a failure's reason as a tooltip) and duration.
 * @csspart table - The table.
 */
@customElement('mesh-shard-log')
export class MeshShardLog extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
        max-height: 280px;
        overflow: auto;
      }
      .empty {
        font-size: 0.88rem;
        color: var(--mw-muted);
        padding: 8px 0;
      }
    `,
  ];

  /** Lines, newest first (see shard-log.ts). */
  @property({ attribute: false }) accessor lines: readonly ShardLine[] = [];
  /** Text shown while there are no lines. */
  @property() accessor empty = 'No shards yet.';

  override render() {
    if (this.lines.length === 0) return html`<div class="empty">${this.empty}</div>`;
    return html`<table part="table">
      <thead>
        <tr><th>Time</th><th>Job</th><th>Shard</th><th>Result</th><th class="num">Took</th></tr>
      </thead>
      <tbody>
        ${this.lines.map(
          (l) => html`<tr data-phase=${l.phase}>
            <td>${new Date(l.at).toLocaleTimeString()}</td>
            <td class="mono" title=${l.jobId}>${shortId(l.jobId)}</td>
            <td>${l.shard}</td>
            <td>
              <span class="pill ${l.phase === 'done' ? 'ok' : l.phase === 'failed' ? 'bad' : ''}" title=${l.error ?? ''}
                >${l.phase === 'start' ? 'running' : l.phase === 'cancelled' ? 'cancelled' : l.phase}</span
              >
            </td>
            <td class="num">${l.ms === undefined ? '' : formatMs(l.ms)}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-shard-log': MeshShardLog;
  }
}
