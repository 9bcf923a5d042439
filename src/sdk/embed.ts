/**
 * Script-tag entry (built as /embed.js):
 *
 *   <script type="module" src="https://host/embed.js" data-coordinator="https://host"
 *           data-cpu-cap="0.25" data-gpu-cap="0.25" data-ask-price="1"></script>
 *
 * `data-coordinators="https://a https://b"` (comma or whitespace separated) lists the coordinators of a
 * cluster: the session uses the first that answers and fails over to the others (`ConnectOptions.coordinators`).
 *
 * Asks the visitor first (consent prompt) and only after "Allow" connects and contributes within the caps.
 * The answer is remembered per coordinator; a corner badge with a Stop button stays visible while contributing.
 * Contribution pauses while the tab is hidden (the contributor's power rules). One tab of a browser contributes at
 * a time; others say so and offer "Use here". The SDK is exposed as `window.meshwork = { sdk, mesh, ... }`,
 * `meshwork:ready` fires on window once the visitor's choice is known (mesh is null when declined) and
 * `meshwork:state` on every change of the badge's state. Module importers get the whole SDK from this file too.
 */
import * as sdk from './index.ts';
import { type ConsentChoice, defineConsentElements, type MeshworkBadge } from './consent-prompt.ts';
import { type EmbedConfig, readEmbedConfig } from './embed-config.ts';
import { type BadgeAction, badgeView, type EmbedState } from './embed-status.ts';
import { EMBED_RESULT_BOUNDS } from '../storage/result-store.ts';

export * from './index.ts';
export { sdk };
export { type EmbedConfig, readEmbedConfig };
export type { EmbedState };

/** What `window.meshwork` holds. */
export interface MeshworkGlobal {
  sdk: typeof sdk;
  /** The connection, once the visitor allowed contributing; null otherwise. */
  mesh: sdk.Mesh | null;
  /** The visitor's answer, remembered or given now; 'pending' only until they answer. */
  consent: ConsentChoice | 'pending';
  /** What the badge shows: the contributor's state, or what keeps it from contributing; null before Allow. */
  status: EmbedState | null;
  /**
   * Whether the host page is cross-origin isolated (COOP/COEP headers): without it WASM runs single-threaded, so
   * contributing is slower (the embed warns on the console).
   */
  isolated: boolean;
  config: EmbedConfig;
  /** Shows the consent prompt again (e.g. from a "contribute" button on the page); starts on Allow. */
  showConsent(): Promise<ConsentChoice>;
  /** Stops contributing, disconnects and remembers "no" for this coordinator. */
  stop(): Promise<void>;
  /**
   * Moves the credits earned here (this site's identity) into the visitor's Meshwork app: opens the app on the
   * coordinator's origin, where the visitor confirms. Call it from a click (it opens a window).
   */
  moveCredits(): Promise<sdk.LinkCreditsResult>;
}

/** Detail of the `meshwork:ready` event. */
export interface MeshworkReadyDetail {
  sdk: typeof sdk;
  mesh: sdk.Mesh | null;
  consent: ConsentChoice;
}

/** Detail of the `meshwork:state` event: the new state, what the badge says, and shards run in this session. */
export interface MeshworkStateDetail {
  state: EmbedState;
  text: string;
  shardsRun: number;
}

declare global {
  interface Window {
    meshwork?: MeshworkGlobal;
  }
  interface WindowEventMap {
    'meshwork:ready': CustomEvent<MeshworkReadyDetail>;
    'meshwork:state': CustomEvent<MeshworkStateDetail>;
    'meshwork:stopped': Event;
    'meshwork:error': CustomEvent<{ message: string }>;
  }
}

/** The <script> element that loaded this module, if there is one. */
function ownScript(): HTMLScriptElement | null {
  const strip = (u: string): string => u.replace(/#.*$/, '');
  const self = strip(import.meta.url);
  for (const s of document.querySelectorAll<HTMLScriptElement>('script[src]')) {
    if (strip(new URL(s.src, location.href).href) === self) return s;
  }
  return null;
}

const consentKey = (coordinator: string): string => `meshwork.consent:${coordinator}`;

function loadConsent(coordinator: string): ConsentChoice | undefined {
  try {
    const v = localStorage.getItem(consentKey(coordinator));
    return v === 'allow' || v === 'deny' ? v : undefined;
  } catch {
    return undefined; // Storage blocked (e.g. third-party context): ask every visit.
  }
}

function saveConsent(coordinator: string, choice: ConsentChoice): void {
  try {
    localStorage.setItem(consentKey(coordinator), choice);
  } catch {
    // Not remembered; the visitor will be asked again next time, which is the safe side.
  }
}

function report(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  console.error('Meshwork embed:', err);
  window.dispatchEvent(new CustomEvent('meshwork:error', { detail: { message } }));
}

const MESH_EVENTS = ['reconnecting', 'reconnected'] as const;
const CONTRIBUTOR_EVENTS = ['state', 'shard', 'credited', 'power'] as const;

/** Runs once per page: prompt (or remembered choice), then connect and contribute only on "allow". */
class Embed {
  readonly state: MeshworkGlobal;
  #badge: MeshworkBadge | undefined;
  #announced = false;
  #waitFree: AbortController | undefined;
  readonly #onChange = (): void => this.#refresh();
  readonly #onClose = (e: Event): void => this.#closed((e as CustomEvent<{ error?: Error }>).detail?.error);

  constructor(readonly config: EmbedConfig) {
    this.state = {
      sdk,
      mesh: null,
      consent: 'pending',
      status: null,
      isolated: globalThis.crossOriginIsolated === true,
      config,
      showConsent: () => this.#ask(),
      stop: () => this.#stop(),
      moveCredits: () => {
        const mesh = this.state.mesh;
        if (mesh === null) return Promise.reject(new sdk.MeshError('unauthorized', 'Cannot move credits as this page is not connected: allow contributing first'));
        return mesh.offerCredits(this.config.coordinator);
      },
    };
  }

  async run(): Promise<void> {
    defineConsentElements();
    if (document.readyState === 'loading') await new Promise((r) => document.addEventListener('DOMContentLoaded', r, { once: true }));
    if (!this.state.isolated) {
      console.warn('Meshwork embed: this page is not cross-origin isolated, so models run on one WASM thread. Serve it with ' +
        "'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp' (see the README, The embed tag).");
    }
    const remembered = loadConsent(this.config.coordinator);
    if (remembered === 'allow') await this.#contribute();
    else if (remembered === 'deny') {
      this.state.consent = 'deny';
      this.#ready('deny');
    } else await this.#ask();
  }

  async #ask(): Promise<ConsentChoice> {
    if (this.state.mesh !== null) return 'allow';
    const prompt = document.createElement('meshwork-consent');
    const choice = await prompt.ask({
      site: location.hostname || 'this site',
      coordinator: this.config.coordinator,
      cpuCap: this.config.cpuCap,
      gpuCap: this.config.gpuCap,
    });
    saveConsent(this.config.coordinator, choice);
    if (choice === 'allow') await this.#contribute();
    else {
      this.state.consent = 'deny';
      this.#ready('deny');
    }
    return choice;
  }

  /** Connects (taking this browser's session over from another tab with `takeover`) and contributes. */
  async #contribute(takeover = false): Promise<void> {
    this.state.consent = 'allow';
    this.#waitFree?.abort();
    if (this.#badge === undefined) {
      const badge = document.createElement('meshwork-badge');
      this.#badge = badge;
      document.body.append(badge);
      badge.addEventListener('meshwork-action', (e) => void this.#act((e as CustomEvent<{ action: BadgeAction }>).detail.action).catch(report));
    }
    this.#show('connecting');
    try {
      const mesh = await sdk.connect({ coordinators: this.config.coordinators, takeover });
      if (this.state.consent !== 'allow') return void (await mesh.close()); // Stopped while connecting.
      this.state.mesh = mesh;
      this.#listen(mesh, true);
      await this.#start(mesh);
      this.#ready('allow');
    } catch (err) {
      if (err instanceof sdk.SessionElsewhereError) this.#elsewhere();
      else {
        this.#show('unavailable');
        report(err);
      }
      this.#ready('allow');
    }
  }

  async #start(mesh: sdk.Mesh): Promise<void> {
    const { cpuCap, gpuCap, askPrice } = this.config;
    // The contributor's own power rules pause it while the tab is hidden, as in the PWA; a guest on someone
    // else's page keeps a smaller store of verified outputs than the app.
    await mesh.contributor.start({ cpuCap, gpuCap, askPrice, power: { pauseWhenHidden: true }, resultCache: EMBED_RESULT_BOUNDS });
    this.#refresh();
  }

  async #act(action: BadgeAction): Promise<void> {
    if (action === 'stop') return this.#stop();
    if (action === 'use-here') return this.#contribute(true);
    const mesh = this.state.mesh;
    if (action === 'start' && mesh !== null && mesh.contributor.state === 'stopped') return this.#start(mesh);
    if (mesh === null) return this.#contribute();
  }

  #listen(mesh: sdk.Mesh, on: boolean): void {
    const method = on ? 'addEventListener' : 'removeEventListener';
    for (const type of MESH_EVENTS) mesh[method](type, this.#onChange);
    for (const type of CONTRIBUTOR_EVENTS) mesh.contributor[method](type, this.#onChange);
    mesh[method]('close', this.#onClose);
  }

  /** The session ended without Stop: another tab took it over, or the coordinator refused it. */
  #closed(error: Error | undefined): void {
    const mesh = this.state.mesh;
    if (mesh !== null) this.#listen(mesh, false);
    this.state.mesh = null;
    if (this.state.consent !== 'allow') return;
    if (error instanceof sdk.SessionElsewhereError) this.#elsewhere();
    else this.#show('unavailable');
  }

  /** Another tab of this browser contributes: say so, and take over by ourselves once it lets go. */
  #elsewhere(): void {
    this.#show('elsewhere');
    this.#waitFree?.abort();
    const wait = new AbortController();
    this.#waitFree = wait;
    sdk.sessionFree('default', wait.signal).then(() => {
      if (!wait.signal.aborted && this.state.status === 'elsewhere' && this.state.consent === 'allow') void this.#contribute();
    }, () => undefined);
  }

  #refresh(): void {
    const mesh = this.state.mesh;
    if (mesh === null) return;
    this.#show(mesh.connection === 'reconnecting' ? 'reconnecting' : mesh.contributor.state);
  }

  /** Shows `status` on the badge; announces it on window when it changed. */
  #show(status: EmbedState): void {
    const c = this.state.mesh?.contributor;
    const shardsRun = c?.stats.shardsRun ?? 0;
    const view = badgeView(status, shardsRun, c?.power);
    this.#badge?.show(view);
    if (status === this.state.status) return;
    this.state.status = status;
    window.dispatchEvent(new CustomEvent<MeshworkStateDetail>('meshwork:state', { detail: { state: status, text: view.text, shardsRun } }));
  }

  async #stop(): Promise<void> {
    saveConsent(this.config.coordinator, 'deny');
    this.state.consent = 'deny';
    this.#waitFree?.abort();
    const mesh = this.state.mesh;
    this.state.mesh = null;
    if (mesh !== null) {
      this.#listen(mesh, false);
      await mesh.contributor.stop();
      await mesh.close();
    }
    this.#show('stopped');
    this.#badge?.remove();
    this.#badge = undefined;
    window.dispatchEvent(new Event('meshwork:stopped'));
  }

  #ready(consent: ConsentChoice): void {
    if (this.#announced) return;
    this.#announced = true;
    const detail: MeshworkReadyDetail = { sdk, mesh: this.state.mesh, consent };
    window.dispatchEvent(new CustomEvent('meshwork:ready', { detail }));
  }
}

// One embed per page, even if the tag is included twice.
if (typeof window !== 'undefined' && typeof document !== 'undefined' && window.meshwork === undefined) {
  try {
    const embed = new Embed(readEmbedConfig(ownScript()?.dataset ?? {}, import.meta.url));
    window.meshwork = embed.state;
    void embed.run().catch(report);
  } catch (err) {
    report(err);
  }
}
