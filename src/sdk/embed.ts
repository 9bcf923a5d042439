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
 * Contribution pauses while the tab is hidden. The SDK is exposed as `window.meshwork = { sdk, mesh, ... }`
 * and `meshwork:ready` fires on window once the visitor's choice is known (mesh is null when declined).
 * Module importers get the whole SDK from this file too.
 */
import * as sdk from './index.ts';
import { type ConsentChoice, defineConsentElements, type MeshworkBadge } from './consent-prompt.ts';
import { type EmbedConfig, readEmbedConfig } from './embed-config.ts';

export * from './index.ts';
export { sdk };
export { type EmbedConfig, readEmbedConfig };

/** What `window.meshwork` holds. */
export interface MeshworkGlobal {
  sdk: typeof sdk;
  /** The connection, once the visitor allowed contributing; null otherwise. */
  mesh: sdk.Mesh | null;
  consent: ConsentChoice | 'pending';
  config: EmbedConfig;
  /** Shows the consent prompt again (e.g. from a "contribute" button on the page); starts on Allow. */
  showConsent(): Promise<ConsentChoice>;
  /** Stops contributing, disconnects and remembers "no" for this coordinator. */
  stop(): Promise<void>;
}

/** Detail of the `meshwork:ready` event. */
export interface MeshworkReadyDetail {
  sdk: typeof sdk;
  mesh: sdk.Mesh | null;
  consent: ConsentChoice;
}

declare global {
  interface Window {
    meshwork?: MeshworkGlobal;
  }
  interface WindowEventMap {
    'meshwork:ready': CustomEvent<MeshworkReadyDetail>;
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

/** Runs once per page: prompt (or remembered choice), then connect and contribute only on "allow". */
class Embed {
  readonly state: MeshworkGlobal;
  #badge: MeshworkBadge | undefined;
  #pausedForHidden = false;
  #announced = false;
  readonly #onVisibility = (): void => void this.#followVisibility().catch(report);
  readonly #onContributor = (): void => this.#refreshBadge();

  constructor(readonly config: EmbedConfig) {
    this.state = {
      sdk,
      mesh: null,
      consent: 'pending',
      config,
      showConsent: () => this.#ask(),
      stop: () => this.#stop(),
    };
  }

  async run(): Promise<void> {
    defineConsentElements();
    if (document.readyState === 'loading') await new Promise((r) => document.addEventListener('DOMContentLoaded', r, { once: true }));
    const remembered = loadConsent(this.config.coordinator);
    if (remembered === 'allow') await this.#contribute();
    else if (remembered === 'deny') this.#ready('deny');
    else await this.#ask();
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

  async #contribute(): Promise<void> {
    this.state.consent = 'allow';
    const badge = document.createElement('meshwork-badge');
    this.#badge = badge;
    document.body.append(badge);
    badge.show(false, 'Connecting…');
    badge.addEventListener('meshwork-stop', () => void this.#stop().catch(report));
    try {
      const mesh = await sdk.connect({ coordinators: this.config.coordinators });
      if (this.state.consent !== 'allow') return void (await mesh.close()); // Stopped while connecting.
      this.state.mesh = mesh;
      for (const type of ['state', 'shard', 'credited']) mesh.contributor.addEventListener(type, this.#onContributor);
      document.addEventListener('visibilitychange', this.#onVisibility);
      const { cpuCap, gpuCap, askPrice } = this.config;
      await mesh.contributor.start({ cpuCap, gpuCap, askPrice });
      await this.#followVisibility();
      this.#refreshBadge();
      this.#ready('allow');
    } catch (err) {
      badge.show(false, 'Meshwork unavailable');
      report(err);
      this.#ready('allow');
    }
  }

  /** Pauses while the tab is hidden; resumes on return only what this code paused. */
  async #followVisibility(): Promise<void> {
    const c = this.state.mesh?.contributor;
    if (c === undefined) return;
    if (document.hidden && c.state === 'active') {
      this.#pausedForHidden = true;
      await c.pause();
    } else if (!document.hidden && this.#pausedForHidden) {
      this.#pausedForHidden = false;
      if (c.state === 'paused') await c.resume();
    }
    this.#refreshBadge();
  }

  #refreshBadge(): void {
    const c = this.state.mesh?.contributor;
    if (this.#badge === undefined || c === undefined) return;
    const shards = `${c.stats.shardsRun} shard${c.stats.shardsRun === 1 ? '' : 's'}`;
    const text: Record<typeof c.state, string> = {
      stopped: 'Stopped',
      starting: 'Starting…',
      active: `Sharing compute · ${shards}`,
      paused: this.#pausedForHidden ? 'Paused while hidden' : 'Paused',
    };
    this.#badge.show(c.state === 'active', text[c.state]);
  }

  async #stop(): Promise<void> {
    saveConsent(this.config.coordinator, 'deny');
    this.state.consent = 'deny';
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#badge?.remove();
    this.#badge = undefined;
    const mesh = this.state.mesh;
    this.state.mesh = null;
    if (mesh !== null) {
      for (const type of ['state', 'shard', 'credited']) mesh.contributor.removeEventListener(type, this.#onContributor);
      await mesh.contributor.stop();
      await mesh.close();
    }
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
