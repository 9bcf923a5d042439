/**
 * The consent UI of the embed script: a prompt shown before anything connects or runs, and a small corner
 * badge that stays visible while this tab contributes, with a Stop control. Plain custom elements with shadow
 * DOM (no framework), so the embed adds little weight and cannot clash with the host page's styles.
 */

import { type BadgeView, badgeButton } from './embed-status.ts';

/** What the visitor answered. */
export type ConsentChoice = 'allow' | 'deny';

/** What the prompt tells the visitor. Caps are fractions in [0.05, 1]. */
export interface ConsentDetails {
  site: string;
  coordinator: string;
  cpuCap: number;
  gpuCap: number;
}

const BASE_CSS = `
  :host { all: initial; position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
    font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    --bg: #ffffff; --fg: #1b1f24; --muted: #5d6673; --border: #dde1e7; --accent: #2f6fde; --accent-fg: #fff; --ok: #1f8a4c; }
  @media (prefers-color-scheme: dark) {
    :host { --bg: #171b21; --fg: #e6e9ee; --muted: #9aa4b2; --border: #2d333d; --accent: #5b92f0; --accent-fg: #0b0e12; --ok: #4cc27f; }
  }
  * { box-sizing: border-box; }
  button { font: inherit; font-weight: 600; border-radius: 7px; padding: 7px 14px; cursor: pointer;
    border: 1px solid var(--border); background: transparent; color: var(--fg); }
  button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); }
  button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
`;

const pct = (f: number): string => `${Math.round(f * 100)}%`;

/** Escapes text for insertion into HTML (site names and URLs come from the page). */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The consent prompt. `ask(details)` shows it and resolves with the visitor's choice; Escape means "Not now".
 * @fires meshwork-consent - CustomEvent<{choice: ConsentChoice}> when the visitor answers.
 * @csspart dialog - The card.
 */
export class MeshworkConsent extends HTMLElement {
  #resolve: ((c: ConsentChoice) => void) | undefined;

  /** Shows the prompt (appending the element to the body if needed) and waits for an answer. */
  ask(d: ConsentDetails): Promise<ConsentChoice> {
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${BASE_CSS}
        .card { width: min(380px, calc(100vw - 32px)); background: var(--bg); color: var(--fg);
          border: 1px solid var(--border); border-radius: 12px; padding: 18px 18px 16px;
          box-shadow: 0 10px 30px rgb(0 0 0 / 18%); }
        h2 { font-size: 15px; margin: 0 0 8px; font-weight: 650; }
        p { margin: 0 0 10px; color: var(--muted); }
        ul { margin: 0 0 14px; padding-left: 18px; color: var(--muted); }
        .actions { display: flex; justify-content: flex-end; gap: 8px; }
        .small { font-size: 12px; }
      </style>
      <div class="card" part="dialog" role="dialog" aria-modal="false" aria-labelledby="mw-title" aria-describedby="mw-desc">
        <h2 id="mw-title">Share this device's spare computing power with the Meshwork network?</h2>
        <p id="mw-desc">${esc(d.site)} invites you to join Meshwork, a network where browsers run AI-inference and
          GPU tasks for other people. The work is for those people, not for ${esc(d.site)}.</p>
        <ul>
          <li>Uses at most ${pct(d.cpuCap)} of CPU time and ${pct(d.gpuCap)} of GPU time.</li>
          <li>Each verified task earns Meshwork credits (a unit of account within the network, not money), kept by
            an identity stored in this browser.</li>
          <li>Pauses while the tab is hidden; stops when you close it.</li>
          <li>A Stop button stays in the corner while it runs.</li>
        </ul>
        <p class="small">Nothing runs unless you allow it. Coordinator: ${esc(d.coordinator)}</p>
        <div class="actions">
          <button data-choice="deny" data-testid="consent-deny">Not now</button>
          <button data-choice="allow" class="primary" data-testid="consent-allow">Allow</button>
        </div>
      </div>`;
    root.querySelectorAll('button').forEach((b) =>
      b.addEventListener('click', () => this.#answer(b.dataset['choice'] === 'allow' ? 'allow' : 'deny')),
    );
    this.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.#answer('deny');
    });
    if (!this.isConnected) document.body.append(this);
    // The dialog, not Allow, takes focus: a stray Enter or Space must not agree on the visitor's behalf.
    const card = root.querySelector<HTMLElement>('.card');
    card?.setAttribute('tabindex', '-1');
    card?.focus({ preventScroll: true });
    return new Promise((resolve) => (this.#resolve = resolve));
  }

  #answer(choice: ConsentChoice): void {
    this.dispatchEvent(new CustomEvent('meshwork-consent', { detail: { choice } }));
    this.remove();
    this.#resolve?.(choice);
    this.#resolve = undefined;
  }
}

/**
 * The corner badge shown while contributing: state, shards run, and one button that matches the state (Stop while
 * contributing; Start, Retry or Use here when not; see embed-status.ts).
 * @fires meshwork-action - CustomEvent<{ action: BadgeAction }> when the visitor presses the button.
 * @csspart badge - The pill.
 */
export class MeshworkBadge extends HTMLElement {
  #text: HTMLElement | undefined;
  #dot: HTMLElement | undefined;
  #button: HTMLButtonElement | undefined;
  #view: BadgeView = { active: false, text: 'Connecting…', action: 'stop' };

  connectedCallback(): void {
    if (this.shadowRoot !== null) return;
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${BASE_CSS}
        .badge { display: flex; align-items: center; gap: 10px; background: var(--bg); color: var(--fg);
          border: 1px solid var(--border); border-radius: 999px; padding: 5px 6px 5px 12px;
          box-shadow: 0 4px 14px rgb(0 0 0 / 14%); font-size: 12.5px; }
        .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--muted); }
        .dot.on { background: var(--ok); }
        button { padding: 3px 10px; font-size: 12px; border-radius: 999px; }
      </style>
      <div class="badge" part="badge" role="status" aria-live="polite">
        <span class="dot"></span><span class="text" data-testid="badge-text"></span>
        <button></button>
      </div>`;
    this.#text = root.querySelector<HTMLElement>('.text') ?? undefined;
    this.#dot = root.querySelector<HTMLElement>('.dot') ?? undefined;
    this.#button = root.querySelector('button') ?? undefined;
    this.#button?.addEventListener('click', () => this.dispatchEvent(new CustomEvent('meshwork-action', { detail: { action: this.#view.action } })));
    this.show(this.#view);
  }

  /** Updates the badge: the dot, the text and the button that goes with them. */
  show(view: BadgeView): void {
    this.#view = view;
    if (this.#text !== undefined) this.#text.textContent = view.text;
    this.#dot?.classList.toggle('on', view.active);
    const b = this.#button;
    if (b !== undefined) {
      const { label, title } = badgeButton(view.action);
      b.textContent = label;
      b.title = title;
      b.dataset['testid'] = `badge-${view.action}`;
    }
  }
}

/** Registers both elements once (the embed may be included twice on a page). */
export function defineConsentElements(): void {
  if (customElements.get('meshwork-consent') === undefined) customElements.define('meshwork-consent', MeshworkConsent);
  if (customElements.get('meshwork-badge') === undefined) customElements.define('meshwork-badge', MeshworkBadge);
}

declare global {
  interface HTMLElementTagNameMap {
    'meshwork-consent': MeshworkConsent;
    'meshwork-badge': MeshworkBadge;
  }
}
