/** Watches the signals power-policy.ts needs: user idleness on this page and, where available, the battery. */
import type { PowerSignals } from './power-policy.ts';

/** The subset of the Battery Status API used here (not in TypeScript's DOM lib). */
interface BatteryManagerLike extends EventTarget {
  readonly charging: boolean;
  readonly level: number;
}

const ACTIVITY = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'] as const;

/**
 * Emits 'change' whenever idleness or battery state changes.
 * Idle means no input on this page for `idleMs`, or the page is hidden (the user is elsewhere). A page cannot
 * see input to other applications without the permission-gated Idle Detection API, which we do not request.
 * @fires change - Event; read `signals` for the new state.
 */
export class PowerMonitor extends EventTarget {
  /** Whether the Battery Status API answered (false in Firefox and Safari). */
  batterySupported = false;
  #battery: BatteryManagerLike | undefined;
  #lastInput = performance.now();
  #idle = false;
  #lastKey = '';
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #idleMs: number;
  readonly #onInput = (): void => {
    this.#lastInput = performance.now();
    this.#update();
  };
  readonly #onChange = (): void => this.#update();

  constructor(idleMs = 60_000) {
    super();
    if (!(idleMs > 0)) throw new RangeError(`Cannot watch idleness as 'idleMs' must be positive: current value is ${idleMs}`);
    this.#idleMs = idleMs;
  }

  /** Current signals. */
  get signals(): PowerSignals {
    const b = this.#battery;
    return { idle: this.#idle, hidden: document.hidden, battery: b === undefined ? undefined : { charging: b.charging, level: b.level } };
  }

  /** Starts listening; resolves once battery support is known. */
  async start(): Promise<void> {
    for (const type of ACTIVITY) window.addEventListener(type, this.#onInput, { passive: true });
    document.addEventListener('visibilitychange', this.#onChange);
    this.#timer = setInterval(this.#onChange, 1000);
    const nav = navigator as Navigator & { getBattery?: () => Promise<BatteryManagerLike> };
    if (typeof nav.getBattery === 'function') {
      try {
        this.#battery = await nav.getBattery();
        this.batterySupported = true;
        this.#battery.addEventListener('chargingchange', this.#onChange);
        this.#battery.addEventListener('levelchange', this.#onChange);
      } catch {
        // Blocked by a permissions policy: behave as if unsupported.
      }
    }
    this.#update(true);
  }

  /** Stops listening. */
  stop(): void {
    for (const type of ACTIVITY) window.removeEventListener(type, this.#onInput);
    document.removeEventListener('visibilitychange', this.#onChange);
    this.#battery?.removeEventListener('chargingchange', this.#onChange);
    this.#battery?.removeEventListener('levelchange', this.#onChange);
    clearInterval(this.#timer);
  }

  #update(force = false): void {
    this.#idle = document.hidden || performance.now() - this.#lastInput >= this.#idleMs;
    // Input events fire constantly: announce only real transitions.
    const key = JSON.stringify(this.signals);
    if (!force && key === this.#lastKey) return;
    this.#lastKey = key;
    this.dispatchEvent(new Event('change'));
  }
}
