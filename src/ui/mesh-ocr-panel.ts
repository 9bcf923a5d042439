import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { JobCost, Mesh, OcrHandle, OcrLine, OcrProgress } from '../sdk/index.ts';
import { recordJob } from '../sdk/history.ts';
import { formatCredits, formatMs, formatPercent } from './format.ts';
import { errorText, outcomeOf, settledJob } from './job-outcome.ts';
import './mesh-progress-bar.ts';
import { renderOcrSample } from './ocr-sample.ts';
import { controls, theme } from './styles.ts';

/** Largest image side the panel takes (the SDK's limit). */
const MAX_SIDE = 8192;

/**
 * Reads the text in an image on the mesh: drop or pick an image (or use the sample), run `client.ocr`, and see
 * each line's box drawn over the image with its text and confidence.
 * @fires meshwork-error - CustomEvent<{message: string}> when the call fails (also shown inline).
 * @fires meshwork-job-recorded - Event once a finished call is in the local history.
 */
@customElement('mesh-ocr-panel')
export class MeshOcrPanel extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
      }
      .layout {
        display: grid;
        grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
        gap: var(--mw-gap);
        align-items: start;
        margin-top: 12px;
      }
      @media (max-width: 820px) {
        .layout {
          grid-template-columns: minmax(0, 1fr);
        }
      }
      .drop {
        display: flex;
        flex-wrap: wrap;
        justify-content: center;
        align-items: center;
        gap: 8px 12px;
        border: 2px dashed var(--mw-border);
        border-radius: 10px;
        padding: 18px;
        text-align: center;
        color: var(--mw-muted);
        font-size: 0.88rem;
      }
      .drop.over {
        border-color: var(--mw-accent);
      }
      canvas {
        display: block;
        width: 100%;
        height: auto;
        border-radius: 6px;
      }
      ol {
        margin: 0;
        padding-left: 1.4em;
        display: grid;
        gap: 6px;
      }
      li .conf {
        color: var(--mw-muted);
        font-size: 0.8rem;
        margin-left: 6px;
      }
      input[type='file'] {
        font-size: 0.85rem;
        max-width: 100%;
        min-width: 0;
      }
      mesh-progress-bar {
        margin-top: 12px;
      }
    `,
  ];

  /** The connected mesh. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;

  @state() accessor image: ImageData | undefined = undefined;
  @state() accessor imageName = '';
  @state() accessor over = false;
  @state() accessor running = false;
  @state() accessor progress: OcrProgress | undefined = undefined;
  @state() accessor lines: OcrLine[] | undefined = undefined;
  @state() accessor cost: JobCost | undefined = undefined;
  @state() accessor error = '';
  @state() accessor elapsedMs = 0;

  @query('canvas') accessor canvas: HTMLCanvasElement | null = null;
  #handle: OcrHandle | undefined;

  async #load(file: Blob, name: string): Promise<void> {
    this.error = '';
    try {
      const bitmap = await createImageBitmap(file);
      try {
        if (bitmap.width > MAX_SIDE || bitmap.height > MAX_SIDE) {
          throw new RangeError(`Cannot read the image as each side must be at most ${MAX_SIDE} px: current size is ${bitmap.width}×${bitmap.height}`);
        }
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
        ctx.drawImage(bitmap, 0, 0);
        this.#show(ctx.getImageData(0, 0, bitmap.width, bitmap.height), name);
      } finally {
        bitmap.close();
      }
    } catch (err) {
      this.error = err instanceof RangeError ? err.message : `Cannot read ${name} as an image: ${errorText(err)}`;
    }
  }

  #show(image: ImageData, name: string): void {
    this.image = image;
    this.imageName = name;
    this.lines = undefined;
    this.progress = undefined;
    this.cost = undefined;
  }

  #onDrop(e: DragEvent): void {
    e.preventDefault();
    this.over = false;
    const file = e.dataTransfer?.files[0];
    if (file && !this.running) void this.#load(file, file.name);
  }

  async #run(): Promise<void> {
    const mesh = this.mesh;
    const image = this.image;
    if (mesh === undefined || image === undefined || this.running) return;
    const key = `ocr-${performance.now()}`;
    const started = performance.now();
    this.running = true;
    this.error = '';
    this.lines = undefined;
    this.cost = undefined;
    this.progress = { stage: 'detect', jobs: 0, done: 0, total: 0 };
    let outcome: 'done' | 'failed' | 'cancelled' = 'done';
    const handle = mesh.client.ocr([image]);
    this.#handle = handle;
    handle.addEventListener('progress', (e) => (this.progress = (e as CustomEvent<OcrProgress>).detail));
    try {
      const [result] = await handle.result;
      this.lines = result?.lines ?? [];
    } catch (err) {
      outcome = outcomeOf(err);
      this.error = errorText(err);
      if (outcome !== 'cancelled') this.dispatchEvent(new CustomEvent('meshwork-error', { detail: { message: this.error }, bubbles: true, composed: true }));
    } finally {
      this.elapsedMs = performance.now() - started;
      this.running = false;
      this.#handle = undefined;
    }
    this.cost = await handle.cost.catch(() => undefined);
    void mesh.balance().catch(() => undefined); // Refreshes the header's balance (a 'balance' event).
    await recordJob(settledJob({
      jobId: handle.jobIds[0] ?? key, kind: 'ocr', label: `OCR, ${this.imageName} (${handle.jobIds.length} jobs)`, at: Date.now(),
      shards: this.progress?.total ?? 0, outcome, ms: this.elapsedMs,
    }, this.cost, this.error)).catch(() => undefined);
    this.dispatchEvent(new Event('meshwork-job-recorded', { bubbles: true, composed: true }));
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (!changed.has('image') && !changed.has('lines')) return;
    const canvas = this.canvas;
    const image = this.image;
    if (canvas === null || image === undefined) return;
    canvas.width = image.width;
    canvas.height = image.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.putImageData(image, 0, 0);
    ctx.lineWidth = Math.max(2, Math.round(image.width / 400));
    ctx.strokeStyle = '#e8590c';
    ctx.fillStyle = '#e8590c';
    ctx.font = `${Math.max(12, Math.round(image.width / 50))}px sans-serif`;
    ctx.textBaseline = 'middle';
    // Each box's number (the line's place in the list) just right of the box, clear of the text.
    (this.lines ?? []).forEach((l, i) => {
      ctx.strokeRect(l.box.x, l.box.y, l.box.width, l.box.height);
      ctx.fillText(String(i + 1), l.box.x + l.box.width + ctx.lineWidth + 2, l.box.y + l.box.height / 2);
    });
  }

  override render() {
    const p = this.progress;
    return html`
      <section class="card" aria-labelledby="ocr-h">
        <h2 id="ocr-h">Read text (OCR)</h2>
        <p class="lead">
          The PP-OCRv4 detector finds the lines of text in an image and the recogniser reads each one, both run by contributors as
          ONNX jobs; boxes are cut out and the text decoded here.
        </p>
        <div
          class="drop ${this.over ? 'over' : ''}"
          data-testid="ocr-drop"
          @dragover=${(e: DragEvent) => {
            e.preventDefault();
            this.over = true;
          }}
          @dragleave=${() => (this.over = false)}
          @drop=${this.#onDrop}
        >
          <span>Drop an image here, or</span>
          <input type="file" accept="image/*" data-testid="ocr-file" aria-label="Pick an image" ?disabled=${this.running}
            @change=${(e: Event) => {
              const file = (e.target as HTMLInputElement).files?.[0];
              if (file) void this.#load(file, file.name);
            }} />
          <button data-testid="ocr-sample" ?disabled=${this.running} @click=${() => this.#show(renderOcrSample(), 'sample page')}>Use a sample</button>
        </div>
        <div class="row" style="margin-top:12px">
          <button class="primary" data-testid="ocr-run" ?disabled=${this.running || this.mesh === undefined || this.image === undefined} @click=${this.#run}>
            Read on mesh
          </button>
          <button data-testid="ocr-cancel" ?disabled=${!this.running} @click=${() => void this.#handle?.cancel()}>Cancel</button>
          ${this.image ? html`<span class="muted">${this.imageName}, ${this.image.width}×${this.image.height}</span>` : nothing}
        </div>
        ${p
          ? html`<mesh-progress-bar data-testid="ocr-progress" .value=${p.done} .max=${Math.max(p.total, 1)}
              .label=${this.error ? 'failed' : `${p.stage}${p.jobs ? ` · ${p.jobs} job${p.jobs === 1 ? '' : 's'}` : ''}`}
              state=${this.error ? 'failed' : this.running ? 'running' : 'done'}></mesh-progress-bar>`
          : nothing}
        ${this.error ? html`<div class="error" role="alert" style="margin-top:12px" data-testid="ocr-error">${this.error}</div>` : nothing}
        ${this.image
          ? html`<div class="layout">
              <canvas role="img" aria-label="the image with the lines found boxed"></canvas>
              <div>${this.#renderLines()}</div>
            </div>`
          : nothing}
      </section>
    `;
  }

  #renderLines() {
    if (this.lines === undefined) return html`<p class="muted">${this.running ? 'Reading…' : 'Lines read appear here.'}</p>`;
    if (this.lines.length === 0) return html`<p class="muted" data-testid="ocr-none">No text found.</p>`;
    return html`
      <ol data-testid="ocr-lines">
        ${this.lines.map((l) => html`<li data-testid="ocr-line" data-text=${l.text} data-confidence=${l.confidence}>${l.text}<span class="conf">${formatPercent(l.confidence)}</span></li>`)}
      </ol>
      <p class="muted" style="margin-top:10px" data-testid="ocr-summary">
        ${formatMs(this.elapsedMs)}${this.cost ? html` · spent ${formatCredits(this.cost.spent + this.cost.fees)} credits` : nothing}
      </p>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-ocr-panel': MeshOcrPanel;
  }
}
