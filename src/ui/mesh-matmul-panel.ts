import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { JobCost, JobHandle, JobProgress, JobWait, Mesh } from '../sdk/index.ts';
import { recordJob } from '../sdk/history.ts';
import { formatCredits, formatMs } from './format.ts';
import { estimateJob, matmulShardUnits } from './job-estimate.ts';
import { announceEscrow, CONFIRM_SHARDS, errorText, outcomeOf, settledJob } from './job-outcome.ts';
import type { MarketQuote } from './market-quote.ts';
import type { MeshConfirm } from './mesh-confirm.ts';
import './mesh-confirm.ts';
import './mesh-cost-estimate.ts';
import { fieldCheck, numberField } from './number-field.ts';
import { matmulReference, maxAbsError, randomMatrix } from './matmul-reference.ts';
import './mesh-progress-bar.ts';
import './mesh-wait-reason.ts';
import { controls, theme } from './styles.ts';

const SIZES = [128, 256, 512, 768, 1024, 1536, 2048];
const TILES = [64, 128, 256, 512];
const BID = { label: 'Bid', min: 1, max: 1_000_000 };
const VERIFY = { label: 'Verify fraction', min: 0, max: 1, integer: false };

/** GFLOP/s with three significant digits ("0.00412", "12.3"); "—" when not measurable. */
export function formatGflops(v: number): string {
  return Number.isFinite(v) && v > 0 ? Number(v.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 }) : '—';
}

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
 * @fires meshwork-job-recorded - Event once a finished job is in the local history.
 * @fires meshwork-escrow - CustomEvent<EscrowDetail> while a job holds escrow.
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
        align-items: start;
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
  /** Prices on offer (the client view reads them). */
  @property({ attribute: false }) accessor quote: MarketQuote | undefined = undefined;
  @state() accessor bidRaw = '2';
  @state() accessor verifyRaw = '0.1';
  @state() accessor cancelled = false;
  @state() accessor running = false;
  @state() accessor phase = '';
  @state() accessor progress: JobProgress | undefined = undefined;
  /** Why the job's shards wait, while they do. */
  @state() accessor wait: JobWait | undefined = undefined;
  @state() accessor outcome: MatmulOutcome | undefined = undefined;
  @state() accessor cost: JobCost | undefined = undefined;
  @state() accessor error = '';

  #handle: JobHandle<Float32Array> | undefined;

  get #bid(): number | undefined {
    const c = fieldCheck({ raw: this.bidRaw, rule: BID });
    return c.ok ? c.value : undefined;
  }

  get #verify(): number | undefined {
    const c = fieldCheck({ raw: this.verifyRaw, rule: VERIFY });
    return c.ok ? c.value : undefined;
  }

  async #run(): Promise<void> {
    const mesh = this.mesh;
    const bid = this.#bid;
    const verifyFraction = this.#verify;
    if (mesh === undefined || this.running || bid === undefined || verifyFraction === undefined) return;
    const m = this.size;
    const k = this.size;
    const n = this.size;
    const units = matmulShardUnits(this.size, this.tile);
    const estimate = estimateJob(units, bid, verifyFraction, this.quote?.feeRate ?? 0.05, this.quote?.lowest);
    if (units.length >= CONFIRM_SHARDS) {
      const ok = await this.renderRoot.querySelector<MeshConfirm>('mesh-confirm')?.ask(
        `Run ${units.length.toLocaleString('en-US')} shards?`,
        `This ${m}×${m} matmul in tiles of ${this.tile} is ${units.length.toLocaleString('en-US')} shards. It is expected to cost about ${formatCredits(estimate.expected)} credits and holds up to ${formatCredits(estimate.escrow)} credits in escrow while it runs.`,
        'Run it',
      );
      if (!ok) return;
    }
    const key = `matmul-${performance.now()}`;
    let handle: JobHandle<Float32Array> | undefined;
    let outcome: 'done' | 'failed' | 'cancelled' = 'done';
    let ms = 0;
    this.running = true;
    this.cancelled = false;
    this.error = '';
    this.outcome = undefined;
    this.cost = undefined;
    this.progress = undefined;
    this.wait = undefined;
    try {
      const a = randomMatrix(m, k, 1);
      const b = randomMatrix(k, n, 2);
      this.phase = 'running on the mesh';
      const started = performance.now();
      handle = mesh.client.runMatmul({ a, b, m, k, n, tile: this.tile, bid, verifyFraction });
      this.#handle = handle;
      announceEscrow(this, key, estimate.escrow);
      void handle.jobId.then(() => mesh.balance()).catch(() => undefined); // the header's balance without the escrow held
      handle.addEventListener('progress', (e) => {
        const p = (e as CustomEvent<JobProgress>).detail;
        this.progress = p;
        if (p.state === 'waiting') this.wait = p.wait;
        else if (p.shard === undefined) this.wait = undefined;
      });
      const c = await handle.result;
      ms = performance.now() - started;
      this.phase = 'checking against the CPU reference';
      // Let the phase render before the reference blocks the main thread for a moment.
      await new Promise((r) => setTimeout(r, 30));
      const ref = matmulReference(a, b, m, k, n);
      const maxError = maxAbsError(c, ref);
      const peak = ref.reduce((x, v) => Math.max(x, Math.abs(v)), 0);
      this.outcome = { ms, gflops: (2 * m * n * k) / (ms * 1e6), maxError, relError: peak > 0 ? maxError / peak : maxError };
      this.phase = 'done';
    } catch (err) {
      outcome = outcomeOf(err);
      this.cancelled = outcome === 'cancelled';
      this.phase = outcome;
      this.error = errorText(err);
      if (!this.cancelled) this.dispatchEvent(new CustomEvent('meshwork-error', { detail: { message: this.error }, bubbles: true, composed: true }));
    } finally {
      this.running = false;
      this.#handle = undefined;
    }
    const cost = await handle?.cost.catch(() => undefined);
    announceEscrow(this, key, 0);
    this.cost = cost;
    void mesh.balance().catch(() => undefined); // Refreshes the header's balance (a 'balance' event).
    const jobId = (await handle?.jobId.catch(() => undefined)) ?? key;
    await recordJob(settledJob({
      jobId, kind: 'matmul', label: `Matmul ${m}×${m}, tiles of ${this.tile}`, at: Date.now(), shards: units.length, outcome, ms,
    }, cost, this.error)).catch(() => undefined);
    this.dispatchEvent(new Event('meshwork-job-recorded', { bubbles: true, composed: true }));
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
    const valid = this.#bid !== undefined && this.#verify !== undefined;
    const units = matmulShardUnits(this.size, this.tile);
    return html`
      <section class="card" aria-labelledby="mm-h">
        <h2 id="mm-h">WGSL matmul</h2>
        <p class="lead">
          C = A·B for random square f32 matrices, split into ${tiles} output tile${tiles === 1 ? '' : 's'} of ${this.tile}×${this.tile},
          each run as a WebGPU compute shader on a contributor, checked here against a CPU reference.
        </p>
        <div class="form">
          ${this.#select('size', SIZES, 'Size (m = k = n)', 'matmul-size')} ${this.#select('tile', TILES, 'Tile', 'matmul-tile')}
          ${numberField({ testId: 'matmul-bid', rule: BID, label: 'Bid (µcredits / work unit)', raw: this.bidRaw, disabled: this.running, hint: 'A work unit is one MFLOP.', onRaw: (v) => (this.bidRaw = v) })}
          ${numberField({ testId: 'matmul-verify', rule: VERIFY, raw: this.verifyRaw, step: '0.05', disabled: this.running, onRaw: (v) => (this.verifyRaw = v) })}
        </div>
        <div class="row">
          <button class="primary" data-testid="matmul-run" ?disabled=${this.running || this.mesh === undefined || !valid} @click=${this.#run}>Run matmul</button>
          <button data-testid="matmul-cancel" ?disabled=${!this.running} @click=${() => void this.#handle?.cancel()}>Cancel</button>
          <span class="muted" data-testid="matmul-phase" role="status" aria-live="polite">${this.phase}</span>
        </div>
        <mesh-cost-estimate style="margin-top:12px" .units=${valid ? units : []} .bid=${this.#bid ?? 0} .verifyFraction=${this.#verify ?? 0} .quote=${this.quote}></mesh-cost-estimate>
        <mesh-confirm></mesh-confirm>
        ${this.progress
          ? html`<mesh-progress-bar data-testid="matmul-progress" .value=${this.progress.done} .max=${this.progress.total}
              .label=${this.cancelled ? 'cancelled' : this.error ? 'failed' : this.progress.state}
              state=${this.cancelled ? 'cancelled' : this.error ? 'failed' : this.running ? 'running' : 'done'}></mesh-progress-bar>`
          : nothing}
        <mesh-wait-reason .wait=${this.running ? this.wait : undefined}></mesh-wait-reason>
        ${this.cancelled
          ? html`<div class="notice" role="status" style="margin-top:12px" data-testid="matmul-cancelled">
              Cancelled. ${this.cost ? html`${formatCredits(this.cost.refunded)} credits refunded to your balance.` : 'Refunding what was not spent…'}
            </div>`
          : this.error
            ? html`<div class="error" role="alert" style="margin-top:12px" data-testid="matmul-error-message">${this.error}</div>`
            : nothing}
        ${o
          ? html`<div class="stats" style="margin-top:12px">
              <div class="stat"><div class="k">Max |error|</div><div class="v" data-testid="matmul-error" data-value=${o.maxError}>${o.maxError.toExponential(2)}</div></div>
              <div class="stat"><div class="k">Relative to max |C|</div><div class="v">${o.relError.toExponential(2)}</div></div>
              <div class="stat"><div class="k">End-to-end GFLOP/s</div><div class="v" data-testid="matmul-gflops" data-value=${o.gflops}>${formatGflops(o.gflops)}</div></div>
              <div class="stat"><div class="k">Wall time</div><div class="v">${formatMs(o.ms)}</div></div>
              <div class="stat">
                <div class="k">Spent (credits, incl. fees)</div>
                <div class="v" data-testid="matmul-cost">${this.cost ? formatCredits(this.cost.spent + this.cost.fees) : '…'}</div>
              </div>
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
