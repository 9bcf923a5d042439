import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { type LinkedDetail, type Mesh, parseClaimHash } from '../sdk/index.ts';
import { formatCredits } from './format.ts';
import { banner, controls, theme } from './styles.ts';

/**
 * Receiving the credits a site's embed earned: when the app was opened by an embed (`#claim-credits=...`), says
 * which site offers its credits and, on the visitor's confirmation, accepts them into this identity; then shows
 * what moved. Nothing moves without the click.
 */
@customElement('mesh-credit-claim')
export class MeshCreditClaim extends LitElement {
  static override styles = [
    theme,
    controls,
    banner,
    css`
      :host {
        display: block;
      }
    `,
  ];

  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;
  @state() accessor claim: { code: string; site: string } | undefined = parseClaimHash(location.hash);
  @state() accessor phase: 'ask' | 'waiting' | 'done' | 'declined' | 'failed' = 'ask';
  @state() accessor message = '';

  readonly #onLinked = (e: Event): void => {
    const d = (e as CustomEvent<LinkedDetail>).detail;
    if (this.phase !== 'waiting') return;
    this.phase = 'done';
    this.message = `${formatCredits(d.earned + d.grant)} credits from ${this.claim?.site ?? 'the site'} are now in this app's balance` +
      (d.grant > 0 ? ` (${formatCredits(d.grant)} of them starter credits, usable for jobs only).` : '.');
  };

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('mesh')) return;
    (changed.get('mesh') as Mesh | undefined)?.removeEventListener('linked', this.#onLinked);
    this.mesh?.addEventListener('linked', this.#onLinked);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.mesh?.removeEventListener('linked', this.#onLinked);
  }

  async #accept(): Promise<void> {
    const { mesh, claim } = this;
    if (!mesh || !claim) return;
    this.phase = 'waiting';
    this.message = `Waiting for ${claim.site} to hand the credits over…`;
    try {
      await mesh.acceptCredits(claim.code);
    } catch (err) {
      this.phase = 'failed';
      this.message = err instanceof Error ? err.message : String(err);
    }
  }

  #decline(): void {
    this.phase = 'declined';
    this.message = 'Nothing was moved.';
    history.replaceState(null, '', location.pathname + location.search);
  }

  override render() {
    const c = this.claim;
    if (!c) return nothing;
    if (this.phase === 'ask') {
      return html`<div class="banner notice" role="region" aria-label="Credits offered" data-testid="credit-claim">
        <span>The Meshwork tag on <strong>${c.site}</strong> offers to move the credits it earned in this browser into this
          app's balance.</span>
        <span>
          <button class="primary" data-testid="claim-accept" ?disabled=${this.mesh === undefined} @click=${() => void this.#accept()}>Move them here</button>
          <button data-testid="claim-decline" @click=${() => this.#decline()}>No</button>
        </span>
      </div>`;
    }
    return html`<div class="banner ${this.phase === 'failed' ? 'error' : 'notice'}" role="status" data-testid="credit-claim" data-phase=${this.phase}>
      <span data-testid="claim-message">${this.message}</span>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-credit-claim': MeshCreditClaim;
  }
}
