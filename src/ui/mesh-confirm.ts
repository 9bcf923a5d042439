import { css, html, LitElement } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { controls, theme } from './styles.ts';

/**
 * A modal confirmation (native `<dialog>`: focus moves into it, Escape declines, the page behind is inert).
 * `ask()` resolves true when the user confirms. The decline button has the initial focus, so Enter does not
 * start an expensive job by accident.
 * @csspart dialog - The dialog box.
 */
@customElement('mesh-confirm')
export class MeshConfirm extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      dialog {
        max-width: min(440px, calc(100vw - 32px));
        border: 1px solid var(--mw-border);
        border-radius: var(--mw-radius);
        background: var(--mw-surface);
        color: var(--mw-text);
        padding: 20px;
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 35%);
      }
      h2 {
        font-size: 1.05rem;
        margin: 0 0 8px;
      }
      p {
        margin: 0 0 16px;
        line-height: 1.45;
        overflow-wrap: anywhere;
      }
    `,
  ];

  @state() accessor heading = '';
  @state() accessor message = '';
  @state() accessor confirmLabel = 'Continue';
  @query('dialog') accessor dialog!: HTMLDialogElement;

  #resolve: ((ok: boolean) => void) | undefined;

  /** Shows the dialog; resolves with the user's answer. */
  async ask(heading: string, message: string, confirmLabel: string): Promise<boolean> {
    this.#resolve?.(false);
    this.heading = heading;
    this.message = message;
    this.confirmLabel = confirmLabel;
    await this.updateComplete;
    this.dialog.showModal();
    return new Promise((resolve) => (this.#resolve = resolve));
  }

  #answer(ok: boolean): void {
    if (this.dialog.open) this.dialog.close();
    this.#resolve?.(ok);
    this.#resolve = undefined;
  }

  override render() {
    return html`<dialog part="dialog" aria-labelledby="confirm-h" aria-describedby="confirm-p" data-testid="confirm" @close=${() => this.#answer(false)}>
      <h2 id="confirm-h">${this.heading}</h2>
      <p id="confirm-p">${this.message}</p>
      <div class="row">
        <button autofocus data-testid="confirm-no" @click=${() => this.#answer(false)}>Go back</button>
        <button class="primary" data-testid="confirm-yes" @click=${() => this.#answer(true)}>${this.confirmLabel}</button>
      </div>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-confirm': MeshConfirm;
  }
}
