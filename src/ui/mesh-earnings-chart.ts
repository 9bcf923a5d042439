import { css, html, LitElement, svg } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { DayTotals } from '../sdk/history.ts';
import { formatCredits } from './format.ts';
import { theme } from './styles.ts';

/** Days the chart shows, ending today. */
export const CHART_DAYS = 14;
const W = 560;
const H = 150;
const PAD_B = 22;
const PAD_T = 14;

/** The local `YYYY-MM-DD` of `ms` (same rule as src/storage/history.ts dayKey). */
function localDay(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * Credits earned and shards run per day over the last CHART_DAYS days, as paired bars (credits on the left
 * of each day, shards on the right, each scaled to its own maximum), with the same figures in a table for
 * screen readers.
 * @csspart chart - The SVG.
 */
@customElement('mesh-earnings-chart')
export class MeshEarningsChart extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
        position: relative;
      }
      svg {
        width: 100%;
        height: auto;
        display: block;
      }
      .credits {
        fill: var(--mw-accent);
      }
      .shards {
        fill: var(--mw-ok);
        opacity: 0.75;
      }
      text {
        fill: var(--mw-muted);
        font-size: 11px;
        font-family: var(--mw-font);
      }
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 6px 16px;
        font-size: 0.8rem;
        color: var(--mw-muted);
        margin-bottom: 6px;
      }
      .sw {
        display: inline-block;
        width: 10px;
        height: 10px;
        border-radius: 2px;
        margin-right: 5px;
        vertical-align: -1px;
      }
      .sr-only {
        position: absolute;
        width: 1px;
        height: 1px;
        overflow: hidden;
        clip: rect(0, 0, 0, 0);
        white-space: nowrap;
      }
    `,
  ];

  /** Day totals (any order; days without an entry count as zero). */
  @property({ attribute: false }) accessor days: readonly DayTotals[] = [];
  /** "Today", ms since the epoch (a property so tests can fix it). */
  @property({ type: Number }) accessor now = Date.now();

  override render() {
    const byDay = new Map(this.days.map((d) => [d.day, d]));
    const series = Array.from({ length: CHART_DAYS }, (_, i) => {
      const day = localDay(this.now - (CHART_DAYS - 1 - i) * 86_400_000);
      const d = byDay.get(day);
      return { day, earned: d?.earned ?? 0, shards: d?.shards ?? 0 };
    });
    const maxEarned = Math.max(1, ...series.map((s) => s.earned));
    const maxShards = Math.max(1, ...series.map((s) => s.shards));
    const totalEarned = series.reduce((a, s) => a + s.earned, 0);
    const totalShards = series.reduce((a, s) => a + s.shards, 0);
    const slot = W / CHART_DAYS;
    const bar = slot * 0.34;
    const plot = H - PAD_B - PAD_T;
    return html`
      <div class="legend" aria-hidden="true">
        <span><span class="sw" style="background:var(--mw-accent)"></span>Credits earned (max ${formatCredits(maxEarned)})</span>
        <span><span class="sw" style="background:var(--mw-ok)"></span>Shards run (max ${maxShards})</span>
      </div>
      <svg part="chart" viewBox="0 0 ${W} ${H}" role="img" data-testid="earnings-chart" data-earned=${totalEarned} data-shards=${totalShards}
        aria-label="Last ${CHART_DAYS} days: ${formatCredits(totalEarned)} credits earned, ${totalShards} shards run">
        ${series.map((s, i) => {
          const x = i * slot + slot * 0.14;
          const he = (s.earned / maxEarned) * plot;
          const hs = (s.shards / maxShards) * plot;
          return svg`<rect class="credits" x=${x} y=${PAD_T + plot - he} width=${bar} height=${he}></rect>
            <rect class="shards" x=${x + bar} y=${PAD_T + plot - hs} width=${bar} height=${hs}></rect>
            ${i % 2 === 1 || i === CHART_DAYS - 1 ? svg`<text x=${x + bar} y=${H - 6} text-anchor="middle">${s.day.slice(5)}</text>` : ''}`;
        })}
      </svg>
      <div class="sr-only"><table>
        <caption>Credits earned and shards run per day</caption>
        <thead><tr><th>Day</th><th>Credits</th><th>Shards</th></tr></thead>
        <tbody>
          ${series.filter((s) => s.earned > 0 || s.shards > 0).map((s) => html`<tr><td>${s.day}</td><td>${formatCredits(s.earned)}</td><td>${s.shards}</td></tr>`)}
        </tbody>
      </table></div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-earnings-chart': MeshEarningsChart;
  }
}
