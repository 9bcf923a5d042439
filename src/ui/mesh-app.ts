import { css, html, LitElement, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { connect, type Mesh, SessionElsewhereError, sessionFree } from '../sdk/index.ts';
import { shortId } from './format.ts';
import { ESCROW_EVENT, type EscrowDetail } from './job-outcome.ts';
import './mesh-credit-claim.ts';
import './mesh-balance.ts';
import './mesh-client-view.ts';
import './mesh-contributor-view.ts';
import { banner, controls, theme } from './styles.ts';

type Tab = 'contribute' | 'run';
const TABS: { id: Tab; label: string }[] = [
  { id: 'contribute', label: 'Contribute' },
  { id: 'run', label: 'Run' },
];

/** The coordinator to use: `?coordinator=` when given (developing against another port), else this origin. */
function coordinatorUrl(): string {
  return new URLSearchParams(location.search).get('coordinator') ?? location.origin;
}

/**
 * The PWA shell: connects to the coordinator, shows the peer id and balance, and switches between the
 * Contribute and Run tabs (kept in the URL hash). Both views stay mounted so contributing continues while
 * the Run tab is open. Registers the service worker in production builds.
 * @csspart header - The top bar.
 */
@customElement('mesh-app')
export class MeshApp extends LitElement {
  static override styles = [
    theme,
    controls,
    banner,
    css`
      :host {
        display: block;
        min-height: 100vh;
        background: var(--mw-bg);
      }
      header {
        position: sticky;
        top: 0;
        z-index: 10;
        background: color-mix(in srgb, var(--mw-surface) 92%, transparent);
        backdrop-filter: blur(8px);
        border-bottom: 1px solid var(--mw-border);
      }
      .bar {
        max-width: 1160px;
        margin: 0 auto;
        padding: 0 20px;
        height: 58px;
        display: flex;
        align-items: center;
        gap: 24px;
      }
      .brand {
        display: flex;
        align-items: center;
        gap: 10px;
        font-weight: 650;
        font-size: 1.05rem;
        letter-spacing: -0.01em;
      }
      .brand img {
        width: 26px;
        height: 26px;
      }
      nav {
        display: flex;
        gap: 4px;
        height: 100%;
      }
      nav button {
        border: none;
        background: none;
        border-radius: 0;
        padding: 0 12px;
        height: 100%;
        color: var(--mw-muted);
        border-bottom: 2px solid transparent;
        font-weight: 550;
      }
      nav button[aria-selected='true'] {
        color: var(--mw-text);
        border-bottom-color: var(--mw-accent);
      }
      .who {
        margin-left: auto;
        display: flex;
        align-items: center;
        gap: 14px;
        font-size: 0.88rem;
        min-width: 0;
      }
      .peer {
        display: flex;
        align-items: center;
        gap: 7px;
        color: var(--mw-muted);
        min-width: 0;
      }
      .dot {
        width: 8px;
        height: 8px;
        border-radius: 50%;
        background: var(--mw-warn);
        flex: none;
      }
      .dot.ok {
        background: var(--mw-ok);
      }
      .dot.bad {
        background: var(--mw-danger);
      }
      mesh-balance {
        min-width: 0;
        max-width: 100%;
        background: var(--mw-surface-2);
        border: 1px solid var(--mw-border);
        border-radius: 999px;
        padding: 3px 12px;
      }
      main {
        max-width: 1160px;
        margin: 0 auto;
        padding: 24px 20px 40px;
      }
      footer {
        max-width: 1160px;
        margin: 0 auto;
        padding: 0 20px 32px;
        font-size: 0.8rem;
        color: var(--mw-muted);
      }
      @media (max-width: 640px) {
        .bar {
          gap: 12px;
          padding: 0 12px;
        }
        .brand span,
        .peer .id {
          display: none;
        }
        main {
          padding: 16px 12px 32px;
        }
        footer {
          padding: 0 12px 24px;
        }
      }
      @media (max-width: 480px) {
        /* Tabs get a row of their own, so a long balance never pushes the page wider than the screen. */
        .bar {
          flex-wrap: wrap;
          height: auto;
          padding-top: 8px;
          row-gap: 4px;
        }
        nav {
          order: 3;
          width: 100%;
          height: 42px;
        }
        nav button {
          flex: 1;
        }
      }
    `,
  ];

  @state() accessor mesh: Mesh | undefined = undefined;
  /** 'elsewhere': another tab of this browser holds the session. 'failed' retries by itself. */
  @state() accessor connection: 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed' | 'elsewhere' = 'connecting';
  @state() accessor error = '';
  @state() accessor tab: Tab = MeshApp.#tabFromHash();
  /** Escrow held by this page's running jobs, by job key (micro-credits). */
  @state() accessor held = new Map<string, number>();

  readonly #onEscrow = (e: Event): void => {
    const { key, micro } = (e as CustomEvent<EscrowDetail>).detail;
    const held = new Map(this.held);
    if (micro > 0) held.set(key, micro);
    else held.delete(key);
    this.held = held;
  };

  readonly #onHash = (): void => {
    this.tab = MeshApp.#tabFromHash();
  };
  readonly #onClose = (e: Event): void => {
    const error = (e as CustomEvent<{ error?: Error }>).detail?.error;
    this.mesh = undefined;
    if (error instanceof SessionElsewhereError) this.#elsewhere();
    else this.connection = 'closed';
  };
  readonly #onReconnecting = (): void => {
    this.connection = 'reconnecting';
  };
  readonly #onReconnected = (): void => {
    this.connection = 'connected';
  };
  readonly #onOnline = (): void => {
    if (this.connection === 'failed') void this.#connect();
  };
  /** Tries after a failed first connect; pending retry and the wait for another tab to let go. */
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #waitFree: AbortController | undefined;

  static #tabFromHash(): Tab {
    return location.hash === '#run' ? 'run' : 'contribute';
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.#onHash);
    this.addEventListener(ESCROW_EVENT, this.#onEscrow);
    window.addEventListener('online', this.#onOnline);
    if (this.mesh === undefined) void this.#connect();
    if (import.meta.env.PROD && 'serviceWorker' in navigator) {
      navigator.serviceWorker.register('/sw.js').catch((err: unknown) => {
        // Offline start-up is a convenience; the app works without it.
        console.warn('Meshwork: service worker registration failed', err);
      });
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.#onHash);
    this.removeEventListener(ESCROW_EVENT, this.#onEscrow);
    window.removeEventListener('online', this.#onOnline);
    clearTimeout(this.#retry);
    this.#waitFree?.abort();
    this.#watch(this.mesh, false);
  }

  #watch(mesh: Mesh | undefined, on: boolean): void {
    if (mesh === undefined) return;
    const method = on ? 'addEventListener' : 'removeEventListener';
    mesh[method]('close', this.#onClose);
    mesh[method]('reconnecting', this.#onReconnecting);
    mesh[method]('reconnected', this.#onReconnected);
  }

  /**
   * Connects (taking the session over from another tab with `takeover`). A coordinator that cannot be reached is
   * tried again by itself, backing off from 0.5 s to 5 s with jitter, and at once when the browser comes online.
   */
  async #connect(takeover = false): Promise<void> {
    clearTimeout(this.#retry);
    this.#waitFree?.abort();
    // While retrying, the failure stays on screen until a try succeeds (no flicker between the two).
    if (this.connection !== 'failed') this.connection = 'connecting';
    try {
      const mesh = await connect({ coordinator: coordinatorUrl(), takeover });
      this.#watch(mesh, true);
      this.mesh = mesh;
      this.connection = 'connected';
      this.error = '';
      this.#attempt = 0;
    } catch (err) {
      if (err instanceof SessionElsewhereError) return this.#elsewhere();
      this.connection = 'failed';
      this.error = err instanceof Error ? err.message : String(err);
      const delay = Math.min(5_000, 500 * 2 ** this.#attempt++) * (0.5 + Math.random() / 2);
      this.#retry = setTimeout(() => void this.#connect(), delay);
    }
  }

  /** Another tab holds the session: say so, and take it back by itself once that tab lets go. */
  #elsewhere(): void {
    this.connection = 'elsewhere';
    this.#waitFree?.abort();
    const wait = new AbortController();
    this.#waitFree = wait;
    sessionFree('default', wait.signal).then(() => {
      if (!wait.signal.aborted && this.connection === 'elsewhere') void this.#connect();
    }, () => undefined);
  }

  async #reconnect(): Promise<void> {
    const old = this.mesh;
    this.#watch(old, false);
    this.mesh = undefined;
    await old?.close().catch(() => undefined);
    await this.#connect();
  }

  #select(tab: Tab): void {
    if (location.hash !== `#${tab}`) history.replaceState(null, '', `#${tab}`);
    this.tab = tab;
  }

  /** WAI-ARIA tabs: Left/Right move to the previous/next tab (wrapping), Home/End to the first/last; focus follows. */
  #onTabKey(e: KeyboardEvent): void {
    const i = TABS.findIndex((t) => t.id === this.tab);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const tab = TABS[(next + TABS.length) % TABS.length]!.id;
    this.#select(tab);
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(`#tab-${tab}`)?.focus());
  }

  override render() {
    const dot = this.connection === 'connected' ? 'ok' : this.connection === 'connecting' || this.connection === 'reconnecting' ? '' : 'bad';
    return html`
      <header part="header">
        <div class="bar">
          <div class="brand"><img src="/icons/icon.svg" alt="" /><span>Meshwork</span></div>
          <nav role="tablist" aria-label="Sections" @keydown=${this.#onTabKey}>
            ${TABS.map(
              (t) => html`<button
                role="tab"
                id="tab-${t.id}"
                data-testid="tab-${t.id}"
                aria-selected=${this.tab === t.id ? 'true' : 'false'}
                aria-controls="panel-${t.id}"
                tabindex=${this.tab === t.id ? '0' : '-1'}
                @click=${() => this.#select(t.id)}
              >
                ${t.label}
              </button>`,
            )}
          </nav>
          <div class="who">
            <span class="peer" title=${this.mesh?.peerId ?? this.connection}>
              <span class="dot ${dot}" data-testid="connection" data-state=${this.connection} role="img" aria-label="Coordinator ${this.connection}"></span>
              <span class="id mono" data-testid="peer-id">${this.mesh ? shortId(this.mesh.peerId, 8, 4) : this.connection}</span>
            </span>
            <mesh-balance .mesh=${this.mesh} .held=${[...this.held.values()].reduce((a, v) => a + v, 0)}></mesh-balance>
          </div>
        </div>
      </header>
      <main>
        ${this.connection === 'failed' || this.connection === 'closed'
          ? html`<div class="banner error" role="alert" data-testid="connection-error">
              <span>${this.connection === 'closed'
                ? 'Disconnected from the coordinator.'
                : `Cannot connect to the coordinator at ${coordinatorUrl()}: ${this.error}. Trying again…`}</span>
              <button data-testid="reconnect" @click=${this.#reconnect}>Reconnect</button>
            </div>`
          : nothing}
        <mesh-credit-claim .mesh=${this.mesh}></mesh-credit-claim>
        ${this.connection === 'reconnecting'
          ? html`<div class="banner" role="status" data-testid="reconnecting">
              <span>The coordinator is out of reach. Reconnecting by itself; contributing resumes when it is back.</span>
            </div>`
          : nothing}
        ${this.connection === 'elsewhere'
          ? html`<div class="banner" role="status" data-testid="open-elsewhere">
              <span>Meshwork is open in another tab. One tab at a time holds this browser's session; it comes back here when that tab closes.</span>
              <button class="primary" data-testid="use-here" @click=${() => void this.#connect(true)}>Use here</button>
            </div>`
          : nothing}
        <mesh-contributor-view id="panel-contribute" role="tabpanel" aria-labelledby="tab-contribute" .mesh=${this.mesh} ?hidden=${this.tab !== 'contribute'}></mesh-contributor-view>
        <mesh-client-view id="panel-run" role="tabpanel" aria-labelledby="tab-run" .mesh=${this.mesh} ?hidden=${this.tab !== 'run'}></mesh-client-view>
      </main>
      <footer>
        Meshwork — browsers share idle compute, verified and paid in credits. Contributing is opt-in and can be stopped at any
        time.
      </footer>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-app': MeshApp;
  }
}
