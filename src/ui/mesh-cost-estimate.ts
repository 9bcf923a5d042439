import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { FEE_RATE } from '../core/index.ts';
import { formatCredits } from './format.ts';
import { estimateJob } from './job-estimate.ts';
import type { MarketQuote } from './market-quote.ts';
import { theme } from './styles.ts';

/**
 * A job's cost before it runs: the expected charge at the lowest ask on offer (with fees and the expected
 * verification replicas), the escrow held while it runs, and whether any contributor is active to take it.
 * The expected charge carries its micro-credits in `data-expected`, the escrow in `data-escrow`.
 */
@customElement('mesh-cost-estimate')
export class MeshCostEstimate extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: block;
        font-size: 0.85rem;
        line-height: 1.5;
        color: var(--mw-muted);
        overflow-wrap: anywhere;
      }
      strong {
        color: var(--mw-text);
        font-variant-numeric: tabular-nums;
      }
      p {
        margin: 0;
      }
    `,
  ];

  /** Work units of each shard; empty while the inputs are invalid. */
  @property({ attribute: false }) accessor units: readonly number[] = [];
  /** Bid, micro-credits per work unit. */
  @property({ type: Number }) accessor bid = 0;
  @property({ type: Number }) accessor verifyFraction = 0;
  /** Prices on offer; undefined while unknown. */
  @property({ attribute: false }) accessor quote: MarketQuote | undefined = undefined;

  override render() {
    if (this.units.length === 0 || this.bid < 1) return html`<p data-testid="estimate-none">Fix the fields above to see the cost.</p>`;
    const q = this.quote;
    const e = estimateJob(this.units, this.bid, this.verifyFraction, q?.feeRate ?? FEE_RATE, q?.lowest);
    const feePct = ((q?.feeRate ?? FEE_RATE) * 100).toLocaleString('en-US', { maximumFractionDigits: 2 });
    const priceNote =
      q === undefined
        ? html`at your bid (the coordinator's asks are unknown)`
        : q.lowest === undefined
          ? html`at your bid`
          : html`at the lowest ask on offer, ${e.price} µcredits / work unit`;
    return html`<p data-testid="estimate" data-expected=${e.expected} data-escrow=${e.escrow} data-shards=${e.shards}>
        Estimated cost <strong data-testid="estimate-expected">≈ ${formatCredits(e.expected)} credits</strong> for ${e.shards.toLocaleString('en-US')}
        shard${e.shards === 1 ? '' : 's'} (${e.workUnits.toLocaleString('en-US')} work units) ${priceNote}, including a ${feePct}% fee and
        the verification runs. Held in escrow while it runs: <strong data-testid="estimate-escrow">${formatCredits(e.escrow)} credits</strong>
        (three runs of every shard at your bid); what is not spent is refunded.
      </p>
      ${q !== undefined && q.active === 0
        ? html`<p data-testid="estimate-no-contributors">No contributor is active right now: the job waits until one starts.</p>`
        : q?.lowest !== undefined && q.lowest > this.bid
          ? html`<p data-testid="estimate-bid-low">Your bid is below every ask (lowest ${q.lowest} µcredits / work unit): the job waits until a contributor asks less.</p>`
          : nothing}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-cost-estimate': MeshCostEstimate;
  }
}
