import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { Mesh, MeshContributor, PowerOptions, ShardEventDetail } from '../sdk/index.ts';
import { type ContributorPrefs, loadPrefs, savePrefs } from './contributor-prefs.ts';
import { addToDay, type DayTotals, listDays } from '../sdk/history.ts';
import { creditsPerHourText, microPerHour } from './earning-estimate.ts';
import { formatCredits } from './format.ts';
import { CHART_DAYS } from './mesh-earnings-chart.ts';
import './mesh-earnings-chart.ts';
import { checkField } from './field-rules.ts';
import { numberField } from './number-field.ts';
import './mesh-capabilities.ts';
import './mesh-shard-log.ts';
import './mesh-power-rules.ts';
import type { PowerPrefs } from './mesh-power-rules.ts';
import type { Capabilities } from './mesh-capabilities.ts';
import { recordShard, type ShardLine } from './shard-log.ts';
import { controls, theme } from './styles.ts';

type ContributorState = MeshContributor['state'];

const LOG_SIZE = 30;
const ASK = { label: 'Ask price', min: 0, max: 1_000_000 };
const STATE_PILL: Record<ContributorState, string> = { stopped: '', starting: 'warn', active: 'ok', paused: 'warn' };

/**
 * The contributor's control panel: consent, start/pause/resume/stop, CPU and GPU caps, power rules
 * (idle-only, charging-only, battery floor), measured capabilities, live state, stats and recent shards.
 * Nothing runs until the consent box is ticked and Start is pressed.
 * @fires meshwork-error - CustomEvent<{message: string}> when an action fails (also shown inline).
 */
@customElement('mesh-contributor-view')
export class MeshContributorView extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host([hidden]) {
        display: none !important;
      }
      :host {
        display: block;
      }
      .layout {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
        gap: var(--mw-gap);
        align-items: start;
      }
      .wide {
        grid-column: 1 / -1;
      }
      @media (max-width: 820px) {
        .layout {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .consent {
        background: var(--mw-accent-soft);
        border-radius: 8px;
        padding: 12px 14px;
        margin-bottom: 16px;
      }
      .buttons {
        margin: 4px 0 4px;
      }
      .cap {
        display: grid;
        grid-template-columns: 90px minmax(0, 1fr) 48px;
        gap: 12px;
        align-items: center;
        margin: 6px 0;
      }
      .cap output {
        text-align: right;
        font-variant-numeric: tabular-nums;
        font-size: 0.88rem;
      }
      .note {
        font-size: 0.8rem;
        color: var(--mw-muted);
      }
      .status-head {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 10px;
        margin-bottom: 14px;
      }
      .status-head .pill {
        font-size: 0.85rem;
        padding: 3px 12px;
      }
      .reason {
        font-size: 0.85rem;
        color: var(--mw-warn);
        margin: -4px 0 12px;
      }
    `,
  ];

  /** The connected mesh. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;

  @state() accessor prefs: ContributorPrefs = loadPrefs(globalThis.localStorage);
  @state() accessor contributorState: ContributorState = 'stopped';
  @state() accessor stats = { shardsRun: 0, shardsFailed: 0, earned: 0 };
  @state() accessor capabilities: Capabilities | undefined = undefined;
  @state() accessor log: ShardLine[] = [];
  @state() accessor busy = false;
  @state() accessor error = '';
  /** Why the power rules paused work; empty when they did not. */
  @state() accessor powerReason = '';
  @state() accessor batterySupported = typeof (navigator as Navigator & { getBattery?: unknown }).getBattery === 'function';
  @state() accessor askRaw = String(this.prefs.askPrice);
  @state() accessor days: DayTotals[] = [];

  readonly #sync = (): void => {
    const c = this.mesh?.contributor;
    if (c === undefined) return;
    this.contributorState = c.state;
    this.stats = { ...c.stats };
    this.capabilities = c.capabilities ?? this.capabilities;
    // The SDK applies the power rules; this only shows why they paused work.
    this.powerReason = c.power.holding ? c.power.reason : '';
    if (c.state !== 'stopped') this.batterySupported = c.power.batterySupported;
  };

  /** The session came back after the coordinator went away: earlier errors are stale. */
  readonly #onReconnected = (): void => {
    this.error = '';
    this.#sync();
  };
  readonly #onShard = (e: Event): void => {
    const detail = (e as CustomEvent<ShardEventDetail>).detail;
    this.log = recordShard(this.log, detail, Date.now(), LOG_SIZE);
    if (detail.phase === 'done') void this.#addToDay({ shards: 1 });
    this.#sync();
  };
  readonly #onCredited = (e: Event): void => {
    const amount = (e as CustomEvent<{ amount?: number }>).detail?.amount;
    if (typeof amount === 'number' && amount > 0) void this.#addToDay({ earned: amount });
    this.#sync();
  };
  override connectedCallback(): void {
    super.connectedCallback();
    this.#listen(this.mesh, true);
    void this.#loadDays();
  }

  async #loadDays(): Promise<void> {
    this.days = await listDays(Date.now() - CHART_DAYS * 86_400_000).catch(() => this.days);
  }

  /** Persists a shard or a payment in today's totals (IndexedDB), then redraws the chart. */
  async #addToDay(add: { earned?: number; shards?: number }): Promise<void> {
    await addToDay(Date.now(), add).catch(() => undefined);
    await this.#loadDays();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#listen(this.mesh, false);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('mesh')) {
      this.#listen(changed.get('mesh'), false);
      this.#listen(this.mesh, true);
      this.#sync();
      // Consent and a running contributor are remembered: a new session (a reload, a tab taken back) resumes.
      const c = this.mesh?.contributor;
      if (c?.state === 'stopped' && this.prefs.consent && this.prefs.contributing) void this.#start();
    }
  }

  #listen(mesh: Mesh | undefined, on: boolean): void {
    if (mesh === undefined) return;
    const c = mesh.contributor;
    const method = on ? 'addEventListener' : 'removeEventListener';
    mesh[method]('reconnected', this.#onReconnected);
    c[method]('power', this.#sync);
    c[method]('state', this.#sync);
    c[method]('credited', this.#onCredited);
    c[method]('shard', this.#onShard);
  }

  #setPrefs(patch: Partial<ContributorPrefs>): void {
    this.prefs = { ...this.prefs, ...patch };
    savePrefs(globalThis.localStorage, this.prefs);
  }

  /** Runs a contributor action, showing its failure inline and as an event. */
  async #act(action: (c: MeshContributor) => Promise<unknown>): Promise<void> {
    const c = this.mesh?.contributor;
    if (c === undefined) return;
    this.busy = true;
    this.error = '';
    try {
      await action(c);
    } catch (err) {
      this.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.dispatchEvent(new CustomEvent('meshwork-error', { detail: { message: this.error }, bubbles: true, composed: true }));
    } finally {
      this.busy = false;
      this.#sync();
    }
  }

  #powerOptions(): PowerOptions {
    const { idleOnly, chargingOnly, batteryFloor } = this.prefs;
    return { idleOnly, chargingOnly, batteryFloor };
  }

  async #start(): Promise<void> {
    if (!this.prefs.consent) return;
    const { cpuCap, gpuCap, askPrice } = this.prefs;
    await this.#act(async (c) => {
      this.capabilities = await c.start({ cpuCap, gpuCap, askPrice, power: this.#powerOptions() });
      this.#setPrefs({ contributing: true });
    });
  }

  async #pause(): Promise<void> {
    await this.#act((c) => c.pause());
  }

  async #resume(): Promise<void> {
    await this.#act((c) => c.resume());
  }

  async #stop(): Promise<void> {
    this.#setPrefs({ contributing: false });
    await this.#act((c) => c.stop());
  }

  #onConsent(e: Event): void {
    const consent = (e.target as HTMLInputElement).checked;
    this.#setPrefs({ consent });
    // Withdrawing consent stops work at once.
    if (!consent && this.contributorState !== 'stopped') void this.#stop();
  }

  #onCap(kind: 'cpuCap' | 'gpuCap', e: Event): void {
    const value = Number((e.target as HTMLInputElement).value) / 100;
    this.#setPrefs({ [kind]: value });
    if (this.contributorState !== 'stopped') this.mesh?.contributor.setCaps({ [kind]: value });
  }

  #onPowerPref(patch: Partial<ContributorPrefs>): void {
    this.#setPrefs(patch);
    if (this.contributorState !== 'stopped') void this.#act((c) => c.setPower(this.#powerOptions()));
  }

  override render() {
    const s = this.contributorState;
    const ready = this.mesh !== undefined && !this.busy;
    const p = this.prefs;
    const askValid = checkField(this.askRaw, ASK).ok;
    const perHour = microPerHour(this.capabilities?.gflops, p, p.askPrice);
    return html`
      <div class="layout">
        <section class="card" aria-labelledby="contribute-h">
          <h2 id="contribute-h">Contribute this device</h2>
          <p class="lead">
            Run other people's inference shards and GPU kernels in this tab, within the limits you set, and earn
            credits for each verified result. Work runs in background workers; you can pause or stop at any time.
          </p>
          <p class="hint" data-testid="credits-explained">
            A credit is Meshwork's unit of account: clients pay credits for verified work, contributors earn them, and you can
            spend what you earn on jobs of your own from the Run tab. Credits are not money.
          </p>
          <label class="check consent">
            <input type="checkbox" data-testid="consent" .checked=${p.consent} @change=${this.#onConsent} />
            <span>I agree to run compute jobs from other Meshwork users on this device, within the caps below.</span>
          </label>
          <div class="row buttons">
            <button class="primary" data-testid="start" ?disabled=${!ready || !p.consent || s !== 'stopped' || !askValid} @click=${this.#start}>
              Start
            </button>
            <button data-testid="pause" ?disabled=${!ready || s !== 'active'} @click=${this.#pause}>Pause</button>
            <button data-testid="resume" ?disabled=${!ready || s !== 'paused'} @click=${this.#resume}>Resume</button>
            <button class="danger" data-testid="stop" ?disabled=${!ready || s === 'stopped'} @click=${this.#stop}>Stop</button>
          </div>
          ${this.error ? html`<div class="error" role="alert" data-testid="contributor-error">${this.error}</div>` : nothing}

          <h3>Resource caps</h3>
          ${this.#cap('cpuCap', 'CPU', p.cpuCap)} ${this.#cap('gpuCap', 'GPU', p.gpuCap)}
          <div class="note">Share of time the workers may compute (duty cycle), applied live.</div>
          <div style="margin-top:12px;max-width:320px">
            ${numberField({
              testId: 'ask-price',
              rule: ASK,
              label: 'Ask price (µcredits / work unit)',
              raw: this.askRaw,
              disabled: s !== 'stopped',
              onRaw: (raw) => {
                this.askRaw = raw;
                const c = checkField(raw, ASK);
                if (c.ok) this.#setPrefs({ askPrice: c.value });
              },
            })}
          </div>
          <p class="hint" data-testid="ask-explained">
            The least you accept per work unit. A work unit is one MFLOP of a matrix product, or a thousandth of an image for a
            model; a job pays your ask if its bid is at least that, so a lower ask gets work sooner. 1 credit = 1,000,000
            µcredits.
          </p>
          <p class="hint" data-testid="earn-rate" data-micro=${perHour ?? ''}>
            ${perHour === undefined
              ? 'Press Start to measure this device: the estimate of credits per hour appears here.'
              : html`At your caps and ask, about <strong>${creditsPerHourText(perHour)} credits per hour</strong> while there is work
                  (measured ${this.capabilities?.gflops.gpu !== undefined ? 'GPU and CPU' : 'CPU'} speed; real earnings depend on
                  demand).`}
          </p>

          <h3>Power</h3>
          <mesh-power-rules
            .prefs=${p}
            ?batterySupported=${this.batterySupported}
            @power-change=${(e: CustomEvent<Partial<PowerPrefs>>) => this.#onPowerPref(e.detail)}
          ></mesh-power-rules>
        </section>

        <section class="card" aria-labelledby="status-h">
          <div class="status-head">
            <h2 id="status-h">Status</h2>
            <span class="pill ${STATE_PILL[s]}" data-testid="state" data-state=${s} role="status" aria-live="polite" aria-label="Contributor ${s}">${s}</span>
          </div>
          ${this.powerReason ? html`<div class="reason" data-testid="power-reason" role="status">Paused: ${this.powerReason}</div>` : nothing}
          <div class="stats">
            <div class="stat"><div class="k">Shards run</div><div class="v" data-testid="shards-run">${this.stats.shardsRun}</div></div>
            <div class="stat"><div class="k">Failed</div><div class="v" data-testid="shards-failed">${this.stats.shardsFailed}</div></div>
            <div class="stat">
              <div class="k">Earned (credits)</div>
              <div class="v" data-testid="earned" data-micro=${this.stats.earned}>${formatCredits(this.stats.earned)}</div>
            </div>
          </div>
          <h3>Last ${CHART_DAYS} days</h3>
          <mesh-earnings-chart .days=${this.days}></mesh-earnings-chart>
          <h3>Recent shards</h3>
          <mesh-shard-log
            data-testid="shard-log"
            .lines=${this.log}
            .empty=${`No shards yet. ${s === 'active' ? 'Waiting for work…' : 'Start contributing to receive work.'}`}
          ></mesh-shard-log>
        </section>

        <section class="card wide" aria-labelledby="device-h">
          <h2 id="device-h">This device</h2>
          <mesh-capabilities .capabilities=${this.capabilities}></mesh-capabilities>
        </section>
      </div>
    `;
  }

  #cap(kind: 'cpuCap' | 'gpuCap', label: string, value: number) {
    const id = `${kind}-input`;
    return html`<div class="cap">
      <label for=${id}>${label}</label>
      <input
        id=${id}
        type="range"
        min="5"
        max="100"
        step="5"
        data-testid=${kind === 'cpuCap' ? 'cpu-cap' : 'gpu-cap'}
        .value=${String(Math.round(value * 100))}
        @input=${(e: Event) => this.#onCap(kind, e)}
      />
      <output for=${id}>${Math.round(value * 100)}%</output>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-contributor-view': MeshContributorView;
  }
}
