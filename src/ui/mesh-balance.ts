import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { Mesh } from '../sdk/index.ts';
import { formatCredits } from './format.ts';
import { theme } from './styles.ts';

/**
 * The peer's credit balance, live: read once from the coordinator, then updated from the mesh's
 * 'balance' events; and the escrow this page's running jobs hold, which the balance no longer includes.
 * The readouts carry the raw micro-credits in `data-micro`. Long decimals are cut with an ellipsis (the full
 * figure is in the title), so the header never widens the page.
 * @csspart value - The number.
 */
@customElement('mesh-balance')
export class MeshBalance extends LitElement {
  static override styles = [
    theme,
    css`
      :host {
        display: inline-flex;
        align-items: baseline;
        gap: 6px;
        font-variant-numeric: tabular-nums;
        min-width: 0;
        white-space: nowrap;
      }
      .v {
        font-weight: 600;
        min-width: 0;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .held {
        font-size: 0.78em;
        color: var(--mw-muted);
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .u {
        font-size: 0.78em;
        color: var(--mw-muted);
      }
    `,
  ];

  /** The connected mesh; nothing is shown until it is set. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;
  /** Escrow held by this page's running jobs, micro-credits. */
  @property({ type: Number }) accessor held = 0;
  @state() accessor micro: number | undefined = undefined;

  readonly #onBalance = (e: Event): void => {
    const balance = (e as CustomEvent<{ balance?: number }>).detail?.balance;
    if (typeof balance === 'number') this.micro = balance;
  };

  /** Balance changes arrive both from the mesh ('balance') and with each credit earned ('credited'). */
  #listen(mesh: Mesh | undefined, on: boolean): void {
    if (mesh === undefined) return;
    const method = on ? 'addEventListener' : 'removeEventListener';
    mesh[method]('balance', this.#onBalance);
    mesh.contributor[method]('credited', this.#onBalance);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('mesh')) return;
    this.#listen(changed.get('mesh'), false);
    this.micro = undefined;
    const mesh = this.mesh;
    if (mesh === undefined) return;
    this.#listen(mesh, true);
    mesh.balance().then(
      (b) => {
        if (this.mesh === mesh && this.micro === undefined) this.micro = b;
      },
      () => undefined, // The header stays on "—"; errors surface in the views that act on them.
    );
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#listen(this.mesh, false);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#listen(this.mesh, true);
  }

  override render() {
    const text = this.micro === undefined ? '—' : formatCredits(this.micro, 4);
    const full = this.micro === undefined ? '' : formatCredits(this.micro);
    return html`<span class="v" part="value" data-testid="balance" data-micro=${this.micro ?? ''} title="Available: ${full} credits"
        >${text}</span
      ><span class="u">credits</span>${this.held > 0
        ? html`<span class="held" data-testid="held" data-micro=${this.held} title="Held in escrow by running jobs: ${formatCredits(this.held)} credits"
            >+ ${formatCredits(this.held, 2)} held</span
          >`
        : nothing}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-balance': MeshBalance;
  }
}
