import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ContributorPrefs } from './contributor-prefs.ts';
import { controls, theme } from './styles.ts';

/** The power rules a contributor chooses. */
export type PowerPrefs = Pick<ContributorPrefs, 'idleOnly' | 'chargingOnly' | 'batteryFloor'>;

/** Battery levels offered as a floor (0: none). */
const FLOORS = [0, 0.2, 0.3, 0.5, 0.8] as const;

/**
 * The contributor's power rules: idle only, charging only and a battery floor. The charging and battery rules
 * are disabled, with a note saying why, where the browser has no Battery Status API.
 * @fires power-change - CustomEvent<Partial<PowerPrefs>> when the contributor changes a rule.
 */
@customElement('mesh-power-rules')
export class MeshPowerRules extends LitElement {
  static override styles = [
    theme,
    controls,
    css`
      :host {
        display: flex;
        flex-direction: column;
        gap: 10px;
      }
      .note {
        font-size: 0.8rem;
        color: var(--mw-muted);
      }
    `,
  ];

  /** The rules in force. */
  @property({ attribute: false }) accessor prefs: PowerPrefs = { idleOnly: false, chargingOnly: false, batteryFloor: 0 };
  /** Whether this browser reports battery status. */
  @property({ type: Boolean }) accessor batterySupported = false;

  #change(patch: Partial<PowerPrefs>): void {
    this.dispatchEvent(new CustomEvent<Partial<PowerPrefs>>('power-change', { detail: patch, bubbles: true, composed: true }));
  }

  override render() {
    const p = this.prefs;
    return html`
      <label class="check">
        <input type="checkbox" data-testid="idle-only" .checked=${p.idleOnly} @change=${(e: Event) => this.#change({ idleOnly: (e.target as HTMLInputElement).checked })} />
        <span>Only while idle <span class="note">— no input on this page for a minute, or the tab in the background</span></span>
      </label>
      <label class="check">
        <input
          type="checkbox"
          data-testid="charging-only"
          .checked=${p.chargingOnly}
          ?disabled=${!this.batterySupported}
          @change=${(e: Event) => this.#change({ chargingOnly: (e.target as HTMLInputElement).checked })}
        />
        <span>Only while charging</span>
      </label>
      <label class="field" style="max-width:220px">
        <span>Pause below battery level</span>
        <select
          data-testid="battery-floor"
          ?disabled=${!this.batterySupported}
          @change=${(e: Event) => this.#change({ batteryFloor: Number((e.target as HTMLSelectElement).value) })}
        >
          ${FLOORS.map((f) => html`<option value=${f} ?selected=${p.batteryFloor === f}>${f === 0 ? 'No floor' : `${f * 100}%`}</option>`)}
        </select>
      </label>
      ${this.batterySupported
        ? nothing
        : html`<div class="note" data-testid="battery-unavailable">
            Battery status is unavailable in this browser (no Battery Status API), so the charging and battery rules cannot
            apply here.
          </div>`}
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'mesh-power-rules': MeshPowerRules;
  }
}
