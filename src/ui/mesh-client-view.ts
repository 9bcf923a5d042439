import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { JobCost, JobHandle, JobProgress, Mesh, MeshClient } from '../sdk/index.ts';
import type { ShardRow } from './mesh-job-status.ts';
import { formatBytes, formatPercent } from './format.ts';
import { fractionAbove, heatmapRgba } from './heatmap.ts';
import './mesh-bitmap.ts';
import './mesh-matmul-panel.ts';
import './mesh-job-status.ts';
import { loadModelCatalog, type ModelEntry } from './model-catalog.ts';
import { controls, theme } from './styles.ts';
import { renderTextBatch, renderTextImage } from './text-images.ts';

type OnnxResult = Awaited<ReturnType<MeshClient['runOnnx']>['result']>;

/** Probability above which the detector counts a pixel as text (PaddleOCR's DB post-process default). */
const TEXT_THRESHOLD = 0.3;
const SIZES = [128, 192, 256, 320, 480, 640];
const PREVIEWS = 8;

/** Per-image outcome: share of text pixels and the detector's probability map as a picture. */
interface ImageResult {
  fraction: number;
  heat: Uint8ClampedArray;
}

/**
 * The client side: run the bundled text detector over generated text images on the mesh, with progress,
 * the contributor of each shard, per-image results and heat maps, and the job's cost; plus the WGSL matmul panel.
 * @fires meshwork-error - CustomEvent<{message: string}> when a job fails (also shown inline).
 */
@customElement('mesh-client-view')
export class MeshClientView extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host([hidden]) {
        display: none !important;
      }
      :host {
        display: grid;
        gap: var(--mw-gap);
      }
      .layout {
        display: grid;
        grid-template-columns: minmax(0, 5fr) minmax(0, 6fr);
        gap: var(--mw-gap);
        align-items: start;
      }
      @media (max-width: 820px) {
        .layout {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .form {
        display: grid;
        grid-template-columns: repeat(2, minmax(0, 1fr));
        gap: 12px 14px;
        align-items: end;
        margin-bottom: 16px;
      }
      .form .full {
        grid-column: 1 / -1;
      }
      .model-meta {
        font-size: 0.78rem;
        color: var(--mw-muted);
        margin-top: -6px;
      }
      .thumbs {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(132px, 1fr));
        gap: 12px;
      }
      figure {
        margin: 0;
        display: flex;
        flex-direction: column;
        gap: 6px;
      }
      figcaption {
        font-size: 0.78rem;
        color: var(--mw-muted);
        display: flex;
        justify-content: space-between;
        gap: 6px;
      }
      .pair {
        display: grid;
        grid-template-columns: 1fr 1fr;
        gap: 4px;
      }
      .results {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
        gap: 14px;
      }
      .empty {
        font-size: 0.88rem;
        color: var(--mw-muted);
      }
    `,
  ];

  /** The connected mesh. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;

  @state() accessor models: ModelEntry[] = [];
  @state() accessor catalogError = '';
  @state() accessor modelId = '';
  @state() accessor count = 8;
  @state() accessor size = 256;
  @state() accessor seed = 1;
  @state() accessor itemsPerShard = 2;
  @state() accessor bid = 2;
  @state() accessor verifyFraction = 0.1;
  @state() accessor previews: { rgba: Uint8ClampedArray; lines: string[] }[] = [];

  @state() accessor running = false;
  @state() accessor jobId = '';
  @state() accessor progress: JobProgress | undefined = undefined;
  @state() accessor shards = new Map<number, ShardRow>();
  @state() accessor results: ImageResult[] = [];
  @state() accessor cost: JobCost | undefined = undefined;
  @state() accessor error = '';
  @state() accessor elapsedMs = 0;

  #handle: JobHandle<OnnxResult> | undefined;

  /** A catalog that failed to load (offline start, coordinator away) loads again once the network is back. */
  readonly #onOnline = (): void => {
    if (this.catalogError !== '') void this.#loadCatalog();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('online', this.#onOnline);
    if (this.models.length === 0) void this.#loadCatalog();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('online', this.#onOnline);
  }

  async #loadCatalog(): Promise<void> {
    try {
      this.models = await loadModelCatalog();
      this.modelId ||= this.models[0]?.id ?? '';
      this.catalogError = this.models.length === 0 ? 'The model catalog is empty.' : '';
    } catch (err) {
      this.catalogError = err instanceof Error ? err.message : String(err);
    }
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // A new session means the coordinator answers again: load a catalog that failed before.
    if (changed.has('mesh') && this.mesh !== undefined && this.catalogError !== '') void this.#loadCatalog();
    if (changed.has('count') || changed.has('size') || changed.has('seed')) {
      const n = Math.min(this.count, PREVIEWS);
      this.previews = Array.from({ length: n }, (_, i) => renderTextImage(this.size, this.size, this.seed, i));
    }
  }

  get #model(): ModelEntry | undefined {
    return this.models.find((m) => m.id === this.modelId);
  }

  async #run(): Promise<void> {
    const mesh = this.mesh;
    const model = this.#model;
    if (mesh === undefined || model === undefined || this.running) return;
    const { count: n, size: h, size: w } = this;
    this.running = true;
    this.error = '';
    this.jobId = '';
    this.results = [];
    this.cost = undefined;
    this.shards = new Map();
    this.progress = { done: 0, total: Math.ceil(n / this.itemsPerShard), state: 'submitting' };
    const started = performance.now();
    try {
      const data = renderTextBatch(n, h, w, this.seed);
      const handle = mesh.client.runOnnx({
        model: { url: model.url, name: model.name },
        inputs: { [model.input.name]: { dtype: 'float32', dims: [n, 3, h, w], data } },
        outputs: model.outputs,
        itemsPerShard: this.itemsPerShard,
        bid: this.bid,
        verifyFraction: this.verifyFraction,
      });
      this.#handle = handle;
      handle.addEventListener('progress', (e) => this.#onProgress((e as CustomEvent<JobProgress>).detail));
      void handle.jobId.then((id) => (this.jobId = id), () => undefined);
      const out = await handle.result;
      this.elapsedMs = performance.now() - started;
      this.results = this.#summarise(out, model.outputs[0] as string, n, h, w);
      this.cost = await handle.cost;
      void mesh.balance().catch(() => undefined); // Refreshes the header's balance (a 'balance' event).
    } catch (err) {
      this.error = err instanceof Error ? `${err.name}${'code' in err ? ` (${String(err.code)})` : ''}: ${err.message}` : String(err);
      this.dispatchEvent(new CustomEvent('meshwork-error', { detail: { message: this.error }, bubbles: true, composed: true }));
      // A failed or cancelled job still settles: show what was refunded.
      this.#handle?.cost.then(
        (c) => {
          this.cost = c;
          void mesh.balance().catch(() => undefined);
        },
        () => undefined,
      );
    } finally {
      this.running = false;
      this.#handle = undefined;
    }
  }

  #onProgress(p: JobProgress): void {
    this.progress = p;
    if (p.shard !== undefined) {
      const shards = new Map(this.shards);
      shards.set(p.shard, { contributor: p.contributor ?? shards.get(p.shard)?.contributor, state: p.state });
      this.shards = shards;
    }
  }

  #summarise(out: OnnxResult, name: string, n: number, h: number, w: number): ImageResult[] {
    const t = out[name];
    if (t === undefined) throw new Error(`Cannot read the result as output '${name}' is missing: current outputs are ${Object.keys(out).join(', ')}`);
    const plane = h * w;
    if (t.data.length !== n * plane) {
      throw new Error(`Cannot read the result as '${name}' must hold ${n}x${h}x${w} values: current value is ${t.data.length} (dims ${t.dims.join('x')})`);
    }
    const probs = t.data as ArrayLike<number>;
    return Array.from({ length: n }, (_, i) => ({
      fraction: fractionAbove(probs, i * plane, plane, TEXT_THRESHOLD),
      heat: heatmapRgba(probs, i * plane, h, w),
    }));
  }

  #num(field: 'count' | 'itemsPerShard' | 'bid' | 'seed', e: Event, lo: number, hi: number): void {
    const v = Math.round(Number((e.target as HTMLInputElement).value));
    if (Number.isFinite(v)) this[field] = Math.min(hi, Math.max(lo, v));
  }

  override render() {
    const model = this.#model;
    return html`
      <div class="layout">
        <section class="card" aria-labelledby="run-h">
          <h2 id="run-h">Run a model on the mesh</h2>
          <p class="lead">
            Text images are generated here, split into shards along the batch axis and run by contributors. A sample of
            shards is run twice on different peers and compared before anyone is paid.
          </p>
          <div class="form">
            <label class="field full">
              <span>Model</span>
              <select data-testid="model" ?disabled=${this.running} @change=${(e: Event) => (this.modelId = (e.target as HTMLSelectElement).value)}>
                ${this.models.map((m) => html`<option value=${m.id} ?selected=${m.id === this.modelId}>${m.name}</option>`)}
              </select>
            </label>
            ${model
              ? html`<div class="model-meta full" data-testid="model-meta">
                  ${formatBytes(model.bytes)} · <span class="mono" title=${model.hash}>sha256 ${model.hash.slice(0, 12)}…</span>${model.license
                    ? html` · ${model.license}`
                    : nothing}
                </div>`
              : nothing}
            <label class="field">
              <span>Images</span>
              <input type="number" min="1" max="256" data-testid="images" .value=${String(this.count)} ?disabled=${this.running}
                @change=${(e: Event) => this.#num('count', e, 1, 256)} />
            </label>
            <label class="field">
              <span>Image size (px)</span>
              <select data-testid="image-size" ?disabled=${this.running} @change=${(e: Event) => (this.size = Number((e.target as HTMLSelectElement).value))}>
                ${SIZES.map((s) => html`<option value=${s} ?selected=${s === this.size}>${s} × ${s}</option>`)}
              </select>
            </label>
            <label class="field">
              <span>Images per shard</span>
              <input type="number" min="1" max="256" data-testid="items-per-shard" .value=${String(this.itemsPerShard)} ?disabled=${this.running}
                @change=${(e: Event) => this.#num('itemsPerShard', e, 1, 256)} />
            </label>
            <label class="field">
              <span>Bid (µcredits / work unit)</span>
              <input type="number" min="0" data-testid="bid" .value=${String(this.bid)} ?disabled=${this.running}
                @change=${(e: Event) => this.#num('bid', e, 0, 1e9)} />
            </label>
            <label class="field">
              <span>Verify fraction</span>
              <input type="number" min="0" max="1" step="0.05" data-testid="verify-fraction" .value=${String(this.verifyFraction)} ?disabled=${this.running}
                @change=${(e: Event) => {
                  const v = Number((e.target as HTMLInputElement).value);
                  if (Number.isFinite(v)) this.verifyFraction = Math.min(1, Math.max(0, v));
                }} />
            </label>
            <label class="field">
              <span>Seed</span>
              <input type="number" min="0" data-testid="seed" .value=${String(this.seed)} ?disabled=${this.running}
                @change=${(e: Event) => this.#num('seed', e, 0, 2 ** 31)} />
            </label>
          </div>
          <div class="row">
            <button class="primary" data-testid="run" ?disabled=${this.running || this.mesh === undefined || model === undefined} @click=${this.#run}>
              Run on mesh
            </button>
            <button data-testid="cancel" ?disabled=${!this.running} @click=${() => void this.#handle?.cancel()}>Cancel</button>
          </div>
          ${this.catalogError ? html`<div class="error" style="margin-top:12px" data-testid="catalog-error">${this.catalogError}</div>` : nothing}
        </section>

        <section class="card" aria-labelledby="job-h">
          <h2 id="job-h">Job</h2>
          <mesh-job-status
            .progress=${this.progress}
            .jobId=${this.jobId}
            .error=${this.error}
            .cost=${this.cost}
            .shards=${this.shards}
            .running=${this.running}
            .elapsedMs=${this.elapsedMs}
          ></mesh-job-status>
        </section>
      </div>

      <section class="card" aria-labelledby="io-h">
        <h2 id="io-h">${this.results.length > 0 ? 'Results' : 'Inputs'}</h2>
        ${this.results.length > 0 ? this.#renderResults() : this.#renderPreviews()}
      </section>

      <mesh-matmul-panel .mesh=${this.mesh}></mesh-matmul-panel>
    `;
  }

  #renderPreviews() {
    const more = this.count - this.previews.length;
    return html`
      <div class="thumbs" data-testid="previews">
        ${this.previews.map(
          (p, i) => html`<figure>
            <mesh-bitmap .rgba=${p.rgba} .width=${this.size} .height=${this.size} alt=${p.lines.join(' / ')}></mesh-bitmap>
            <figcaption><span>#${i}</span><span>${p.lines.length} line${p.lines.length === 1 ? '' : 's'}</span></figcaption>
          </figure>`,
        )}
      </div>
      ${more > 0 ? html`<p class="empty">…and ${more} more generated when the job runs.</p>` : nothing}
    `;
  }

  #renderResults() {
    const mean = this.results.reduce((a, r) => a + r.fraction, 0) / this.results.length;
    return html`
      <p class="lead" data-testid="results-summary">
        ${this.results.length} images · mean text-pixel share ${formatPercent(mean)} (probability &gt; ${TEXT_THRESHOLD})
      </p>
      <div class="results">
        ${this.results.map((r, i) => {
          const input = i < this.previews.length ? this.previews[i] : renderTextImage(this.size, this.size, this.seed, i);
          return html`<figure data-testid="result-${i}" data-fraction=${r.fraction}>
            <div class="pair">
              <mesh-bitmap .rgba=${input?.rgba} .width=${this.size} .height=${this.size} alt="input ${i}"></mesh-bitmap>
              <mesh-bitmap .rgba=${r.heat} .width=${this.size} .height=${this.size} alt="text probability map ${i}"></mesh-bitmap>
            </div>
            <figcaption><span>#${i}</span><span>${formatPercent(r.fraction)} text</span></figcaption>
          </figure>`;
        })}
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-client-view': MeshClientView;
  }
}
