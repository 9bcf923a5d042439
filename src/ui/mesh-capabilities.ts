import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { MeshContributor } from '../sdk/index.ts';
import { formatBytes } from './format.ts';
import { controls, theme } from './styles.ts';

/** Measured capabilities, as the contributor reports them to the coordinator. */
export type Capabilities = NonNullable<MeshContributor['capabilities']>;

const LIMITS: [keyof NonNullable<Capabilities['gpu']>['limits'], string, boolean][] = [
  ['maxBufferSize', 'Max buffer', true],
  ['maxStorageBufferBindingSize', 'Max storage binding', true],
  ['maxComputeWorkgroupStorageSize', 'Workgroup storage', true],
  ['maxComputeInvocationsPerWorkgroup', 'Invocations / workgroup', false],
  ['maxComputeWorkgroupsPerDimension', 'Workgroups / dimension', false],
];

/**
 * A table of what this device measured about itself: GPU adapter, limits and features; CPU cores,
 * WASM SIMD and threads; memory; ONNX execution providers; micro-benchmark GFLOP/s.
 * @csspart table - The table.
 */
@customElement('mesh-capabilities')
export class MeshCapabilities extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: block;
      }
      th {
        width: 38%;
      }
      .features {
        display: flex;
        flex-wrap: wrap;
        gap: 4px;
      }
      .features .pill {
        font-weight: 500;
        font-family: var(--mw-mono);
      }
    `,
  ];

  /** What to show; an explanatory line while undefined. */
  @property({ attribute: false }) accessor capabilities: Capabilities | undefined = undefined;

  override render() {
    const c = this.capabilities;
    if (c === undefined) {
      return html`<p class="muted" data-testid="capabilities-empty">Measured when you start contributing.</p>`;
    }
    const yes = (b: boolean) => html`<span class="pill ${b ? 'ok' : 'warn'}">${b ? 'yes' : 'no'}</span>`;
    const gpu = c.gpu;
    return html`
      <table part="table" data-testid="capabilities">
        <tbody>
          <tr>
            <th>GPU adapter</th>
            <td data-testid="cap-gpu">
              ${gpu === undefined
                ? html`<span class="pill warn">no WebGPU</span>`
                : html`${gpu.description || gpu.architecture || 'unnamed'}
                    <span class="muted">${[gpu.vendor, gpu.architecture].filter(Boolean).join(' · ')}</span>`}
            </td>
          </tr>
          ${gpu === undefined
            ? nothing
            : LIMITS.map(
                ([key, label, bytes]) =>
                  html`<tr>
                    <th>${label}</th>
                    <td class="mono">${bytes ? formatBytes(gpu.limits[key]) : gpu.limits[key].toLocaleString('en-US')}</td>
                  </tr>`,
              )}
          ${gpu === undefined
            ? nothing
            : html`<tr>
                <th>GPU features</th>
                <td>
                  <div class="features">
                    ${gpu.features.length === 0
                      ? html`<span class="muted">none</span>`
                      : [...gpu.features].sort().map((f) => html`<span class="pill">${f}</span>`)}
                  </div>
                </td>
              </tr>`}
          <tr>
            <th>CPU cores</th>
            <td data-testid="cap-cores">${c.cpu.cores}</td>
          </tr>
          <tr>
            <th>WASM SIMD</th>
            <td>${yes(c.cpu.wasmSimd)}</td>
          </tr>
          <tr>
            <th>WASM threads</th>
            <td>${yes(c.cpu.wasmThreads)} ${c.cpu.crossOriginIsolated ? nothing : html`<span class="muted">(page not cross-origin isolated)</span>`}</td>
          </tr>
          <tr>
            <th>Memory</th>
            <td>${c.memoryGiB === undefined ? html`<span class="muted">not reported</span>` : `${c.memoryGiB} GiB`}${c.modelMemoryMB === undefined ? nothing : html` <span class="muted">(models may take ${c.modelMemoryMB} MiB)</span>`}</td>
          </tr>
          <tr>
            <th>ONNX execution providers</th>
            <td class="mono">${c.ortEps.join(', ') || '—'}</td>
          </tr>
          <tr>
            <th>Measured speed</th>
            <td data-testid="cap-gflops">
              CPU ${c.gflops.cpu.toFixed(2)} GFLOP/s${c.gflops.gpu === undefined ? nothing : html` · GPU ${c.gflops.gpu.toFixed(2)} GFLOP/s`}
            </td>
          </tr>
        </tbody>
      </table>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-capabilities': MeshCapabilities;
  }
}
