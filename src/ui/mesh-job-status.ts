import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { JobCost, JobProgress, JobWait } from '../sdk/index.ts';
import { formatCredits, formatMs, shortId } from './format.ts';
import './mesh-progress-bar.ts';
import './mesh-wait-reason.ts';
import { controls, theme } from './styles.ts';

/** The latest known state of one shard and who ran it. */
export interface ShardRow {
  contributor?: string | undefined;
  state: string;
}

/**
 * A job's live status: progress bar, job id, error, cost (charged including fees, of which fees, refunded, wall
 * time; all in credits) and the contributor and state of each shard. A cancelled job is shown as a neutral
 * "Cancelled" with its refund, not as a failure. Purely presentational; the owner feeds it from the JobHandle.
 * @csspart shards - The shard table.
 */
@customElement('mesh-job-status')
export class MeshJobStatus extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
      }
      .shards {
        max-height: 220px;
        overflow: auto;
        margin-top: 12px;
      }
      .empty {
        font-size: 0.88rem;
        color: var(--mw-muted);
      }
      .job-id {
        font-size: 0.8rem;
        color: var(--mw-muted);
        margin: 10px 0 0;
      }
    `,
  ];

  /** Latest progress; undefined before the first job. */
  @property({ attribute: false }) accessor progress: JobProgress | undefined = undefined;
  /** The job's id once the coordinator assigned it. */
  @property() accessor jobId = '';
  /** Failure message; empty when none. */
  @property() accessor error = '';
  /** The client cancelled the job (then `error` is ignored). */
  @property({ type: Boolean }) accessor cancelled = false;
  /** Settled cost; undefined until the job settles. */
  @property({ attribute: false }) accessor cost: JobCost | undefined = undefined;
  /** Shards by index. */
  @property({ attribute: false }) accessor shards = new Map<number, ShardRow>();
  /** Whether the job is still running. */
  @property({ type: Boolean }) accessor running = false;
  /** Why its shards wait, while they do (the coordinator's explanation). */
  @property({ attribute: false }) accessor wait: JobWait | undefined = undefined;
  /** Wall time of the finished job. */
  @property({ type: Number }) accessor elapsedMs = 0;

  override render() {
    const p = this.progress;
    if (p === undefined) return html`<p class="empty" data-testid="job-idle">No job yet. Choose the inputs and press Run on mesh.</p>`;
    const finished = !this.running;
    const failed = this.error !== '' && !this.cancelled;
    const barState = this.cancelled ? 'cancelled' : failed ? 'failed' : finished ? 'done' : 'running';
    const c = this.cost;
    const amount = (v: number | undefined) => (v === undefined ? '…' : formatCredits(v));
    return html`
      <mesh-progress-bar data-testid="progress" .value=${p.done} .max=${p.total} .label=${this.cancelled ? 'cancelled' : failed ? 'failed' : p.state} state=${barState}></mesh-progress-bar>
      <mesh-wait-reason .wait=${this.running ? this.wait : undefined}></mesh-wait-reason>
      ${this.jobId ? html`<p class="job-id">Job <span class="mono" data-testid="job-id">${this.jobId}</span></p>` : nothing}
      ${failed ? html`<div class="error" role="alert" style="margin-top:12px" data-testid="error">${this.error}</div>` : nothing}
      ${this.cancelled
        ? html`<div class="notice" role="status" style="margin-top:12px" data-testid="cancelled">
            Cancelled. ${c ? html`${formatCredits(c.refunded)} credits refunded to your balance.` : 'Refunding what was not spent…'}
          </div>`
        : nothing}
      <h3>Cost</h3>
      <div class="stats" data-testid="cost" data-spent=${c?.spent ?? ''} data-fees=${c?.fees ?? ''} data-refunded=${c?.refunded ?? ''}>
        <div class="stat" title="Paid to contributors plus the protocol fee">
          <div class="k">Spent (credits, incl. fees)</div><div class="v" data-testid="cost-spent">${amount(c && c.spent + c.fees)}</div>
        </div>
        <div class="stat"><div class="k">of which fees (credits)</div><div class="v" data-testid="cost-fees">${amount(c?.fees)}</div></div>
        <div class="stat"><div class="k">Refunded (credits)</div><div class="v" data-testid="cost-refunded">${amount(c?.refunded)}</div></div>
        <div class="stat"><div class="k">Wall time</div><div class="v" data-testid="elapsed">${finished && !failed && !this.cancelled ? formatMs(this.elapsedMs) : '…'}</div></div>
      </div>
      <h3>Shards</h3>
      <div class="shards">
        ${this.shards.size === 0
          ? html`<p class="empty">${this.running ? (this.wait ? 'No shard has started yet.' : 'Asking the coordinator for contributors…') : 'No shard ran.'}</p>`
          : html`<table part="shards" data-testid="shards">
              <thead><tr><th>Shard</th><th>Contributor</th><th>State</th></tr></thead>
              <tbody>
                ${[...this.shards.entries()]
                  .sort((a, b) => a[0] - b[0])
                  .map(
                    ([i, s]) => html`<tr data-testid="shard-${i}">
                      <td>${i}</td>
                      <td class="mono" title=${s.contributor ?? ''}>${s.contributor ? shortId(s.contributor) : '—'}</td>
                      <td>${s.state}</td>
                    </tr>`,
                  )}
              </tbody>
            </table>`}
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-job-status': MeshJobStatus;
  }
}
