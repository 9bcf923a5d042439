import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { JobCost, JobHandle, JobProgress, Mesh } from '../sdk/index.ts';
import { formatCredits, formatMs } from './format.ts';
import { matmulReference, maxAbsError, randomMatrix } from './matmul-reference.ts';
import './mesh-progress-bar.ts';
import { controls, theme } from './styles.ts';

const SIZES = [128, 256, 512, 768, 1024, 1536, 2048];
const TILES = [64, 128, 256, 512];

/** Outcome of one matmul job. */
interface MatmulOutcome {
  ms: number;
  gflops: number;
  maxError: number;
  relError: number;
}

/**
 * Runs a square f32 matmul as a WGSL job split into output tiles across contributors, then checks it against
 * a CPU reference computed here: max absolute error, error relative to the largest value, and end-to-end GFLOP/s.
 * @fires meshwork-error - CustomEvent<{message: string}> when the job fails (also shown inline).
 */
@customElement('mesh-matmul-panel')
export class MeshMatmulPanel extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
      }
      .form {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(140px, 1fr));
        gap: 12px 14px;
        align-items: end;
        margin-bottom: 16px;
      }
      mesh-progress-bar {
        margin: 16px 0 12px;
      }
    `,
  ];

  /** The connected mesh. */
  @property({ attribute: false }) accessor mesh: Mesh | undefined = undefined;

  @state() accessor size = 256;
  @state() accessor tile = 128;
  @state() accessor bid = 2;
  @state() accessor verifyFraction = 0.1;
  @state() accessor running = false;
  @state() accessor phase = '';
  @state() accessor progress: JobProgress | undefined = undefined;
  @state() accessor outcome: MatmulOutcome | undefined = undefined;
  @state() accessor cost: JobCost | undefined = undefined;
  @state() accessor error = '';

  #handle: JobHandle<Float32Array> | undefined;

  async #run(): Promise<void> {
    const mesh = this.mesh;
    if (mesh === undefined || this.running) return;
    const m = this.size;
    const k = this.size;
    const n = this.size;
    this.running = true;
    this.error = '';
    this.outcome = undefined;
    this.cost = undefined;
    this.progress = undefined;
    try {
      const a = randomMatrix(m, k, 1);
      const b = randomMatrix(k, n, 2);
      this.phase = 'running on the mesh';
      const started = performance.now();
      const handle = mesh.client.runMatmul({ a, b, m, k, n, tile: this.tile, bid: this.bid, verifyFraction: this.verifyFraction });
      this.#handle = handle;
      handle.addEventListener('progress', (e) => (this.progress = (e as CustomEvent<JobProgress>).detail));
      const c = await handle.result;
      const ms = performance.now() - started;
      this.phase = 'checking against the CPU reference';
      // Let the phase render before the reference blocks the main thread for a moment.
      await new Promise((r) => setTimeout(r, 30));
      const ref = matmulReference(a, b, m, k, n);
      const maxError = maxAbsError(c, ref);
      const peak = ref.reduce((x, v) => Math.max(x, Math.abs(v)), 0);
      this.outcome = { ms, gflops: (2 * m * n * k) / (ms * 1e6), maxError, relError: peak > 0 ? maxError / peak : maxError };
      this.phase = 'done';
      this.cost = await handle.cost;
      void mesh.balance().catch(() => undefined); // Refreshes the header's balance (a 'balance' event).
    } catch (err) {
      this.phase = 'failed';
      this.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.dispatchEvent(new CustomEvent('meshwork-error', { detail: { message: this.error }, bubbles: true, composed: true }));
    } finally {
      this.running = false;
      this.#handle = undefined;
    }
  }

  #select(field: 'size' | 'tile', options: number[], label: string, testid: string) {
    return html`<label class="field">
      <span>${label}</span>
      <select data-testid=${testid} ?disabled=${this.running} @change=${(e: Event) => (this[field] = Number((e.target as HTMLSelectElement).value))}>
        ${options.map((v) => html`<option value=${v} ?selected=${v === this[field]}>${v}</option>`)}
      </select>
    </label>`;
  }

  override render() {
    const o = this.outcome;
    const tiles = Math.ceil(this.size / this.tile) ** 2;
    return html`
      <section class="card" aria-labelledby="mm-h">
        <h2 id="mm-h">WGSL matmul</h2>
        <p class="lead">
          C = A·B for random square f32 matrices, split into ${tiles} output tile${tiles === 1 ? '' : 's'} of ${this.tile}×${this.tile},
          each run as a WebGPU compute shader on a contributor, checked here against a CPU reference.
        </p>
        <div class="form">
          ${this.#select('size', SIZES, 'Size (m = k = n)', 'matmul-size')} ${this.#select('tile', TILES, 'Tile', 'matmul-tile')}
          <label class="field">
            <span>Bid (µcredits / work unit)</span>
            <input type="number" min="0" data-testid="matmul-bid" .value=${String(this.bid)} ?disabled=${this.running}
              @change=${(e: Event) => (this.bid = Math.max(0, Math.round(Number((e.target as HTMLInputElement).value) || 0)))} />
          </label>
          <label class="field">
            <span>Verify fraction</span>
            <input type="number" min="0" max="1" step="0.05" data-testid="matmul-verify" .value=${String(this.verifyFraction)} ?disabled=${this.running}
              @change=${(e: Event) => (this.verifyFraction = Math.min(1, Math.max(0, Number((e.target as HTMLInputElement).value) || 0)))} />
          </label>
        </div>
        <div class="row">
          <button class="primary" data-testid="matmul-run" ?disabled=${this.running || this.mesh === undefined} @click=${this.#run}>Run matmul</button>
          <button data-testid="matmul-cancel" ?disabled=${!this.running} @click=${() => void this.#handle?.cancel()}>Cancel</button>
          ${this.phase ? html`<span class="muted" data-testid="matmul-phase">${this.phase}</span>` : nothing}
        </div>
        ${this.progress
          ? html`<mesh-progress-bar data-testid="matmul-progress" .value=${this.progress.done} .max=${this.progress.total} .label=${this.progress.state}
              state=${this.error ? 'failed' : this.running ? 'running' : 'done'}></mesh-progress-bar>`
          : nothing}
        ${this.error ? html`<div class="error" role="alert" style="margin-top:12px" data-testid="matmul-error-message">${this.error}</div>` : nothing}
        ${o
          ? html`<div class="stats" style="margin-top:12px">
              <div class="stat"><div class="k">Max |error|</div><div class="v" data-testid="matmul-error" data-value=${o.maxError}>${o.maxError.toExponential(2)}</div></div>
              <div class="stat"><div class="k">Relative to max |C|</div><div class="v">${o.relError.toExponential(2)}</div></div>
              <div class="stat"><div class="k">End-to-end GFLOP/s</div><div class="v" data-testid="matmul-gflops" data-value=${o.gflops}>${o.gflops.toFixed(2)}</div></div>
              <div class="stat"><div class="k">Wall time</div><div class="v">${formatMs(o.ms)}</div></div>
              <div class="stat"><div class="k">Spent</div><div class="v" data-testid="matmul-cost">${this.cost ? formatCredits(this.cost.spent) : '…'}</div></div>
            </div>`
          : nothing}
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-matmul-panel': MeshMatmulPanel;
  }
}
