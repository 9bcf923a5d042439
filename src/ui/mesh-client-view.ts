import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { JobCost, JobHandle, JobProgress, JobWait, Mesh, MeshClient } from '../sdk/index.ts';
import type { ShardRow } from './mesh-job-status.ts';
import { listJobs, type JobSummary, recordJob } from '../sdk/history.ts';
import { type FieldRule } from './field-rules.ts';
import { formatBytes, formatCredits } from './format.ts';
import { estimateJob, onnxShardUnits } from './job-estimate.ts';
import { announceEscrow, CONFIRM_SHARDS, errorText, outcomeOf, settledJob } from './job-outcome.ts';
import { loadQuote, type MarketQuote } from './market-quote.ts';
import type { MeshConfirm } from './mesh-confirm.ts';
import './mesh-confirm.ts';
import './mesh-cost-estimate.ts';
import './mesh-job-history.ts';
import { fieldCheck, numberField } from './number-field.ts';
import { fractionAbove, heatmapRgba } from './heatmap.ts';
import './mesh-bitmap.ts';
import './mesh-matmul-panel.ts';
import './mesh-detector-images.ts';
import { type ImageResult, TEXT_THRESHOLD } from './mesh-detector-images.ts';
import './mesh-ocr-panel.ts';
import './mesh-serve-panel.ts';
import './mesh-job-status.ts';
import { loadModelCatalog, type ModelEntry } from './model-catalog.ts';
import { controls, theme } from './styles.ts';
import { renderTextBatch, renderTextImage, type TextImage } from './text-images.ts';

type OnnxResult = Awaited<ReturnType<MeshClient['runOnnx']>['result']>;

const SIZES = [128, 192, 256, 320, 480, 640];
const PREVIEWS = 8;
/** How often the asks on offer are read again while the Run tab is shown. */
const QUOTE_MS = 15_000;

/** The number fields of the form and their allowed ranges (never clamped: see number-field.ts). */
const RULES = {
  count: { label: 'Images', min: 1, max: 256 },
  itemsPerShard: { label: 'Images per shard', min: 1, max: 256 },
  bid: { label: 'Bid', min: 1, max: 1_000_000 },
  verifyFraction: { label: 'Verify fraction', min: 0, max: 1, integer: false },
  seed: { label: 'Seed', min: 0, max: 2 ** 31 },
} satisfies Record<string, FieldRule>;
type Field = keyof typeof RULES;

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
        grid-template-columns: minmax(0, 1fr);
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
        align-items: start;
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
    `,
  ];

  /** The connected mesh. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;

  @state() accessor models: ModelEntry[] = [];
  @state() accessor catalogError = '';
  @state() accessor modelId = '';
  /** What the user typed in each number field. */
  @state() accessor raw: Record<Field, string> = { count: '8', itemsPerShard: '2', bid: '2', verifyFraction: '0.1', seed: '1' };
  @state() accessor size = 256;
  @state() accessor quote: MarketQuote | undefined = undefined;
  @state() accessor history: JobSummary[] = [];
  @state() accessor cancelled = false;
  @state() accessor previews: TextImage[] = [];

  @state() accessor running = false;
  @state() accessor jobId = '';
  @state() accessor progress: JobProgress | undefined = undefined;
  /** Why the job's shards wait, while they do. */
  @state() accessor wait: JobWait | undefined = undefined;
  @state() accessor shards = new Map<number, ShardRow>();
  @state() accessor results: ImageResult[] = [];
  @state() accessor cost: JobCost | undefined = undefined;
  @state() accessor error = '';
  @state() accessor elapsedMs = 0;

  #handle: JobHandle<OnnxResult> | undefined;
  #quoteTimer: ReturnType<typeof setInterval> | undefined;
  /** Last valid value of each field (previews keep showing while a field is being corrected). */
  #last: Record<Field, number> = { count: 8, itemsPerShard: 2, bid: 2, verifyFraction: 0.1, seed: 1 };

  /** A catalog that failed to load (offline start, coordinator away) loads again once the network is back. */
  readonly #onOnline = (): void => {
    if (this.catalogError !== '') void this.#loadCatalog();
  };

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('online', this.#onOnline);
    if (this.models.length === 0) void this.#loadCatalog();
    void this.#loadHistory();
    this.#quoteTimer = setInterval(() => {
      if (!this.hidden) void this.#loadQuote();
    }, QUOTE_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.#quoteTimer);
    window.removeEventListener('online', this.#onOnline);
  }

  async #loadQuote(): Promise<void> {
    const mesh = this.mesh;
    if (mesh !== undefined) this.quote = await loadQuote(mesh.coordinator);
  }

  async #loadHistory(): Promise<void> {
    this.history = await listJobs(50).catch(() => this.history);
  }

  /** A field's value when valid, else its last valid value. */
  #value(f: Field): number {
    const c = fieldCheck({ raw: this.raw[f], rule: RULES[f] });
    if (c.ok) this.#last[f] = c.value;
    return this.#last[f];
  }

  get #valid(): boolean {
    return (Object.keys(RULES) as Field[]).every((f) => fieldCheck({ raw: this.raw[f], rule: RULES[f] }).ok);
  }

  get count(): number {
    return this.#value('count');
  }
  get seed(): number {
    return this.#value('seed');
  }

  async #loadCatalog(): Promise<void> {
    try {
      // The detector demo below runs image-in, map-out models; the recogniser has its own panel (mesh-ocr-panel).
      this.models = (await loadModelCatalog()).filter((m) => m.task === undefined || m.task === 'text-detection');
      this.modelId ||= this.models[0]?.id ?? '';
      this.catalogError = this.models.length === 0 ? 'The model catalog is empty.' : '';
    } catch (err) {
      this.catalogError = err instanceof Error ? err.message : String(err);
    }
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('mesh')) void this.#loadQuote();
    // A new session means the coordinator answers again: load a catalog that failed before.
    if (changed.has('mesh') && this.mesh !== undefined && this.catalogError !== '') void this.#loadCatalog();
    if (changed.has('raw') || changed.has('size')) {
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
    if (mesh === undefined || model === undefined || this.running || !this.#valid) return;
    const n = this.#value('count');
    const perShard = this.#value('itemsPerShard');
    const bid = this.#value('bid');
    const verifyFraction = this.#value('verifyFraction');
    const { size: h, size: w } = this;
    const units = onnxShardUnits(n, perShard);
    if (units.length >= CONFIRM_SHARDS) {
      const ok = await this.renderRoot.querySelector<MeshConfirm>('mesh-confirm')?.ask(
        `Run ${units.length.toLocaleString('en-US')} shards?`,
        `This job has ${units.length.toLocaleString('en-US')} shards and holds up to ${formatCredits(estimateJob(units, bid, verifyFraction, this.quote?.feeRate ?? 0.05).escrow)} credits in escrow while it runs.`,
        'Run it',
      );
      if (!ok) return;
    }
    this.running = true;
    this.error = '';
    this.cancelled = false;
    this.jobId = '';
    this.results = [];
    this.cost = undefined;
    this.shards = new Map();
    this.progress = { done: 0, total: units.length, state: 'submitting' };
    this.wait = undefined;
    const started = performance.now();
    const key = `onnx-${started}`;
    const label = `${model.name}, ${n} image${n === 1 ? '' : 's'} of ${h} px`;
    let handle: JobHandle<OnnxResult> | undefined;
    let outcome: JobSummary['outcome'] = 'done';
    try {
      const data = renderTextBatch(n, h, w, this.seed);
      handle = mesh.client.runOnnx({
        model: { url: model.url, name: model.name },
        inputs: { [model.input.name]: { dtype: 'float32', dims: [n, 3, h, w], data } },
        outputs: model.outputs,
        itemsPerShard: perShard,
        bid,
        verifyFraction,
      });
      this.#handle = handle;
      announceEscrow(this, key, estimateJob(units, bid, verifyFraction, this.quote?.feeRate ?? 0.05).escrow);
      handle.addEventListener('progress', (e) => this.#onProgress((e as CustomEvent<JobProgress>).detail));
      void handle.jobId.then(
        (id) => {
          this.jobId = id;
          void mesh.balance().catch(() => undefined); // the header shows the balance without the escrow now held
        },
        () => undefined,
      );
      const out = await handle.result;
      this.elapsedMs = performance.now() - started;
      this.results = this.#summarise(out, model.outputs[0] as string, n, h, w);
    } catch (err) {
      outcome = outcomeOf(err);
      this.cancelled = outcome === 'cancelled';
      this.error = errorText(err);
      if (!this.cancelled) this.dispatchEvent(new CustomEvent('meshwork-error', { detail: { message: this.error }, bubbles: true, composed: true }));
    } finally {
      this.running = false;
      this.#handle = undefined;
    }
    // Done, failed or cancelled, the job settles: show what it cost and what came back, and keep it in the history.
    const cost = await handle?.cost.catch(() => undefined);
    announceEscrow(this, key, 0);
    this.cost = cost;
    void mesh.balance().catch(() => undefined); // Refreshes the header's balance (a 'balance' event).
    const jobId = this.jobId || key;
    await recordJob(settledJob({ jobId, kind: 'onnx', label, at: Date.now(), shards: units.length, outcome, ms: this.elapsedMs }, cost, this.error))
      .catch(() => undefined);
    await this.#loadHistory();
  }

  #onProgress(p: JobProgress): void {
    this.progress = p;
    if (p.state === 'waiting') this.wait = p.wait;
    // Shard events leave the wait as it is; a job-wide event ('running' once nothing waits, or the end) clears it.
    else if (p.shard === undefined) this.wait = undefined;
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

  #field(f: Field, extra: { label?: string; hint?: string; step?: string } = {}) {
    const testIds: Record<Field, string> = { count: 'images', itemsPerShard: 'items-per-shard', bid: 'bid', verifyFraction: 'verify-fraction', seed: 'seed' };
    return numberField({
      testId: testIds[f], rule: RULES[f], raw: this.raw[f], disabled: this.running, ...extra,
      onRaw: (raw) => (this.raw = { ...this.raw, [f]: raw }),
    });
  }

  override render() {
    const model = this.#model;
    const valid = this.#valid;
    const units = valid ? onnxShardUnits(this.#value('count'), this.#value('itemsPerShard')) : [];
    return html`
      <div class="layout">
        <section class="card" aria-labelledby="run-h">
          <h2 id="run-h">Run a model on the mesh</h2>
          <p class="lead">
            Text images are generated here, split into shards along the batch axis and run by contributors. A sample of
            shards is run twice on different peers and compared before anyone is paid.
          </p>
          <p class="hint" data-testid="credits-explained">
            A credit is Meshwork's unit of account: clients pay credits for verified work and contributors earn them (1 credit =
            1,000,000 µcredits; every new identity starts with 1,000 credits). Credits are not money.
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
            ${this.#field('count')}
            <label class="field">
              <span>Image size (px)</span>
              <select data-testid="image-size" ?disabled=${this.running} @change=${(e: Event) => (this.size = Number((e.target as HTMLSelectElement).value))}>
                ${SIZES.map((s) => html`<option value=${s} ?selected=${s === this.size}>${s} × ${s}</option>`)}
              </select>
            </label>
            ${this.#field('itemsPerShard')}
            ${this.#field('bid', { label: 'Bid (µcredits / work unit)', hint: 'The most you pay per work unit; an image is 1,000 work units.' })}
            ${this.#field('verifyFraction', { step: '0.05', hint: 'Share of shards run twice and compared.' })}
            ${this.#field('seed')}
          </div>
          <div class="row">
            <button class="primary" data-testid="run" ?disabled=${this.running || this.mesh === undefined || model === undefined || !valid} @click=${this.#run}>
              Run on mesh
            </button>
            <button data-testid="cancel" ?disabled=${!this.running} @click=${() => void this.#handle?.cancel()}>Cancel</button>
          </div>
          <mesh-cost-estimate style="margin-top:12px" .units=${units} .bid=${this.#value('bid')} .verifyFraction=${this.#value('verifyFraction')} .quote=${this.quote}></mesh-cost-estimate>
          ${this.catalogError ? html`<div class="error" style="margin-top:12px" data-testid="catalog-error">${this.catalogError}</div>` : nothing}
          <mesh-confirm></mesh-confirm>
        </section>

        <section class="card" aria-labelledby="job-h">
          <h2 id="job-h">Job</h2>
          <mesh-job-status
            .progress=${this.progress}
            .wait=${this.wait}
            .jobId=${this.jobId}
            .error=${this.error}
            .cancelled=${this.cancelled}
            .cost=${this.cost}
            .shards=${this.shards}
            .running=${this.running}
            .elapsedMs=${this.elapsedMs}
          ></mesh-job-status>
        </section>
      </div>

      <mesh-detector-images .previews=${this.previews} .results=${this.results} .count=${this.count} .size=${this.size} .seed=${this.seed}></mesh-detector-images>

      <mesh-ocr-panel .mesh=${this.mesh} @meshwork-job-recorded=${this.#loadHistory}></mesh-ocr-panel>

      <mesh-serve-panel .mesh=${this.mesh}></mesh-serve-panel>

      <mesh-matmul-panel .mesh=${this.mesh} .quote=${this.quote} @meshwork-job-recorded=${this.#loadHistory}></mesh-matmul-panel>

      <section class="card" aria-labelledby="history-h">
        <h2 id="history-h">Your jobs</h2>
        <p class="lead">Jobs run from this device, kept here for 500 jobs. Cost is what was paid to contributors plus the protocol fee.</p>
        <mesh-job-history .jobs=${this.history}></mesh-job-history>
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-client-view': MeshClientView;
  }
}
