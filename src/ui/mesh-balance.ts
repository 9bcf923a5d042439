import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { Mesh } from '../sdk/index.ts';
import { formatCredits } from './format.ts';
import { theme } from './styles.ts';

/**
 * The peer's credit balance, live: read once from the coordinator, then updated from the mesh's
 * 'balance' events. The readout carries the raw micro-credits in `data-micro`.
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
      }
      .v {
        font-weight: 600;
      }
      .u {
        font-size: 0.78em;
        color: var(--mw-muted);
      }
    `,
  ];

  /** The connected mesh; nothing is shown until it is set. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;
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
    return html`<span class="v" part="value" data-testid="balance" data-micro=${this.micro ?? ''} title="Balance in credits"
        >${text}</span
      ><span class="u">credits</span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-balance': MeshBalance;
  }
}
