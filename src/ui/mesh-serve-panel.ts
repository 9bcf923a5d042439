import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { Mesh, ServeStats, ServiceHandle } from '../sdk/index.ts';
import { formatCredits, formatMs } from './format.ts';
import { errorText } from './job-outcome.ts';
import { loadModelCatalog, type ModelEntry } from './model-catalog.ts';
import { fieldCheck, numberField } from './number-field.ts';
import { controls, theme } from './styles.ts';
import { renderTextBatch } from './text-images.ts';

const CONCURRENCY = { label: 'Concurrent requests', min: 1, max: 32 };
const MAX_BATCH = { label: 'Largest batch', min: 1, max: 16 };
/** Distinct rendered inputs the callers cycle through. */
const INPUTS = 8;
/** How often the figures are read from the handle (ms). */
const REFRESH_MS = 500;
/** Escrow of a demo service: 20 credits. */
const BUDGET = 20_000_000;

/** An image-in model from the catalog and the input size the panel sends it. */
interface Servable {
  model: ModelEntry;
  h: number;
  w: number;
}

/** Catalog models that take one NCHW RGB image, with the fixed sides they need (free sides: 32 x 96). */
export function servableModels(models: readonly ModelEntry[]): Servable[] {
  return models.flatMap((model) => {
    const d = model.input.dims;
    if (d.length !== 4 || (d[1] !== 3 && d[1] !== -1)) return [];
    return [{ model, h: d[2]! > 0 ? d[2]! : 32, w: d[3]! > 0 ? d[3]! : 96 }];
  });
}

/**
 * Serves a catalog model continuously: opens a service (`client.serve`) with one replica, keeps the chosen number
 * of requests in flight (each caller sends its next request as soon as the last one answered), and shows the
 * handle's live figures: p50/p99 latency, requests per second, the replica's queue depth and the mean batch the
 * answers ran in. Stop closes the service (its unspent escrow comes back).
 * @fires meshwork-error - CustomEvent<{message: string}> when the service fails (also shown inline).
 */
@customElement('mesh-serve-panel')
export class MeshServePanel extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
      }
      .form {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(160px, 1fr));
        gap: 12px 14px;
        align-items: start;
        margin-bottom: 16px;
      }
      dl {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(110px, 1fr));
        gap: 10px 14px;
        margin: 16px 0 0;
      }
      dt {
        color: var(--mw-muted);
        font-size: 0.8rem;
      }
      dd {
        margin: 2px 0 0;
        font-size: 1.15rem;
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  /** The connected mesh. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;

  @state() accessor models: Servable[] = [];
  @state() accessor modelId = '';
  @state() accessor concurrencyRaw = '8';
  @state() accessor maxBatchRaw = '8';
  @state() accessor phase: 'idle' | 'opening' | 'serving' | 'closing' = 'idle';
  @state() accessor stats: ServeStats | undefined = undefined;
  @state() accessor spent = 0;
  @state() accessor error = '';

  #handle: ServiceHandle | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stop = false;
  #callers: Promise<void>[] = [];

  override connectedCallback(): void {
    super.connectedCallback();
    void loadModelCatalog().then((all) => {
      this.models = servableModels(all);
      this.modelId ||= (this.models.find((s) => s.model.task === 'text-detection') ?? this.models[0])?.model.id ?? '';
    }, (err) => (this.error = `Cannot load the model catalog: ${errorText(err)}`));
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    void this.#close();
  }

  async #start(): Promise<void> {
    const mesh = this.mesh;
    const chosen = this.models.find((s) => s.model.id === this.modelId);
    const conc = fieldCheck({ raw: this.concurrencyRaw, rule: CONCURRENCY });
    const batch = fieldCheck({ raw: this.maxBatchRaw, rule: MAX_BATCH });
    if (!mesh || !chosen || !conc.ok || !batch.ok || this.phase !== 'idle') return;
    this.error = '';
    this.stats = undefined;
    this.phase = 'opening';
    this.#stop = false;
    try {
      const { model, h, w } = chosen;
      const handle = await mesh.client.serve({ model: { url: model.url, name: model.name }, outputs: model.outputs, maxBatch: batch.value, maxWaitMs: 2, replicas: 1, budget: BUDGET });
      this.#handle = handle;
      await handle.ready();
      if (this.#stop) return;
      this.phase = 'serving';
      const images = renderTextBatch(INPUTS, h, w, 7);
      const item = 3 * h * w;
      let next = 0;
      const caller = async () => {
        while (!this.#stop) {
          const k = next++ % INPUTS;
          await handle.infer({ [model.input.name]: { dtype: 'float32', dims: [1, 3, h, w], data: images.subarray(k * item, (k + 1) * item) } });
        }
      };
      this.#callers = Array.from({ length: conc.value }, () => caller().catch((err: unknown) => this.#fail(err)));
      this.#timer = setInterval(() => this.#refresh(), REFRESH_MS);
    } catch (err) {
      this.#fail(err);
    }
  }

  #refresh(): void {
    if (!this.#handle) return;
    this.stats = this.#handle.stats();
    this.spent = this.#handle.spent;
  }

  #fail(err: unknown): void {
    if (this.#stop) return; // requests cut short by Stop are not failures
    const message = `Cannot keep serving: ${errorText(err)}`;
    this.error = message;
    this.dispatchEvent(new CustomEvent('meshwork-error', { detail: { message }, bubbles: true, composed: true }));
    void this.#close();
  }

  async #close(): Promise<void> {
    if (this.phase === 'idle' || this.phase === 'closing') return;
    this.#stop = true;
    this.phase = 'closing';
    const handle = this.#handle;
    await Promise.allSettled(this.#callers);
    clearInterval(this.#timer);
    this.#refresh();
    await handle?.close().catch(() => undefined);
    if (handle) this.spent = handle.spent;
    this.#handle = undefined;
    this.#callers = [];
    this.phase = 'idle';
  }

  #figure(label: string, testId: string, value: string) {
    return html`<div><dt>${label}</dt><dd data-testid=${testId}>${value}</dd></div>`;
  }

  override render() {
    const busy = this.phase !== 'idle';
    const valid = fieldCheck({ raw: this.concurrencyRaw, rule: CONCURRENCY }).ok && fieldCheck({ raw: this.maxBatchRaw, rule: MAX_BATCH }).ok;
    const s = this.stats;
    const n = (v: number | undefined, digits = 1) => (v === undefined ? '—' : v.toFixed(digits));
    return html`
      <section class="card" aria-labelledby="serve-h">
        <h2 id="serve-h">Serving</h2>
        <p class="lead">
          A model kept loaded by a contributor, answering requests as they come: requests that arrive while a batch runs join the next
          one. Each request is one rendered text image.
        </p>
        <div class="form">
          <label class="field">
            <span>Model</span>
            <select data-testid="serve-model" ?disabled=${busy} @change=${(e: Event) => (this.modelId = (e.target as HTMLSelectElement).value)}>
              ${this.models.map((m) => html`<option value=${m.model.id} ?selected=${m.model.id === this.modelId}>${m.model.name} (${m.h}×${m.w})</option>`)}
            </select>
          </label>
          ${numberField({ testId: 'serve-concurrency', rule: CONCURRENCY, raw: this.concurrencyRaw, disabled: busy, onRaw: (v) => (this.concurrencyRaw = v) })}
          ${numberField({ testId: 'serve-max-batch', rule: MAX_BATCH, raw: this.maxBatchRaw, disabled: busy, hint: '1 turns batching off.', onRaw: (v) => (this.maxBatchRaw = v) })}
        </div>
        <div class="row">
          <button class="primary" data-testid="serve-start" ?disabled=${busy || this.mesh === undefined || !valid || this.modelId === ''} @click=${this.#start}>Start serving</button>
          <button data-testid="serve-stop" ?disabled=${this.phase !== 'serving' && this.phase !== 'opening'} @click=${() => void this.#close()}>Stop</button>
          <span class="muted" data-testid="serve-phase" role="status" aria-live="polite">${this.phase === 'opening' ? 'Waiting for a replica…' : this.phase === 'serving' ? 'Serving' : this.phase === 'closing' ? 'Closing…' : ''}</span>
        </div>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
        <dl data-testid="serve-stats">
          ${this.#figure('Answered', 'serve-requests', s ? String(s.requests) : '—')}
          ${this.#figure('Requests/s', 'serve-rps', n(s?.requestsPerSec))}
          ${this.#figure('p50 latency', 'serve-p50', s ? formatMs(s.p50Ms) : '—')}
          ${this.#figure('p99 latency', 'serve-p99', s ? formatMs(s.p99Ms) : '—')}
          ${this.#figure('Queue depth', 'serve-queue', s ? String(s.queueDepth) : '—')}
          ${this.#figure('Mean batch', 'serve-batch', n(s?.meanBatch, 2))}
          ${this.#figure('Spent (credits)', 'serve-spent', formatCredits(this.spent))}
        </dl>
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-serve-panel': MeshServePanel;
  }
}
