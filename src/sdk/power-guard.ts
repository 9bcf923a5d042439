/**
 * Applies a contributor's power rules (power-policy.ts) to what the page observes (power-monitor.ts): pauses
 * when they forbid work and resumes only what they paused, so a pause the person chose is never lifted by a
 * charger being plugged in. The PWA and the embed get the same rules through `contributor.start({ power })`.
 */
import { evaluatePower, type PowerPrefs } from './power-policy.ts';
import { PowerMonitor } from './power-monitor.ts';
import type { ContributorState, PowerOptions, PowerStatus } from './types.ts';

/** Milliseconds before a pause or resume the coordinator refused is tried again. */
const RETRY_MS = 1_000;

/** What the guard drives: the contributor's state and its pause/resume as the rules need them. */
export interface PowerTarget {
  readonly state: ContributorState;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** The rules `opts` asks for, checked. */
export function powerPrefs(opts: PowerOptions = {}): PowerPrefs & { idleMs: number } {
  const floor = opts.batteryFloor ?? 0;
  if (!(floor >= 0 && floor <= 1)) {
    throw new RangeError(`Cannot apply power rules as 'batteryFloor' must be a level in [0, 1]: current value is ${floor}`);
  }
  const idleMs = opts.idleMs ?? 60_000;
  if (!(idleMs > 0 && Number.isFinite(idleMs))) throw new RangeError(`Cannot apply power rules as 'idleMs' must be positive: current value is ${idleMs}`);
  return {
    idleOnly: opts.idleOnly ?? false,
    chargingOnly: opts.chargingOnly ?? false,
    batteryFloor: floor,
    pauseWhenHidden: opts.pauseWhenHidden ?? false,
    idleMs,
  };
}

/** Watches the page and keeps `target` within the rules. */
export class PowerGuard {
  readonly #target: PowerTarget;
  readonly #onStatus: (status: PowerStatus) => void;
  #prefs: PowerPrefs & { idleMs: number };
  #monitor: PowerMonitor;
  #holding = false;
  #status: PowerStatus = { allowed: true, reason: '', holding: false, batterySupported: false };
  #chain: Promise<void> = Promise.resolve();
  #disposed = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  readonly #onChange = (): void => void this.check();

  constructor(target: PowerTarget, opts: PowerOptions | undefined, onStatus: (status: PowerStatus) => void) {
    this.#target = target;
    this.#onStatus = onStatus;
    this.#prefs = powerPrefs(opts);
    this.#monitor = new PowerMonitor(this.#prefs.idleMs);
  }

  /** The rules' verdict now, whether they hold the contributor paused, and whether battery status is known. */
  get status(): PowerStatus {
    return this.#status;
  }

  /** Starts watching and applies the rules once. */
  async start(): Promise<void> {
    this.#monitor.addEventListener('change', this.#onChange);
    await this.#monitor.start();
    await this.check();
  }

  /** Changes the rules (applied at once). */
  async update(opts: PowerOptions | undefined): Promise<void> {
    const prefs = powerPrefs(opts);
    if (prefs.idleMs !== this.#prefs.idleMs && !this.#disposed) {
      this.#monitor.removeEventListener('change', this.#onChange);
      this.#monitor.stop();
      this.#monitor = new PowerMonitor(prefs.idleMs);
      this.#monitor.addEventListener('change', this.#onChange);
      this.#prefs = prefs;
      await this.#monitor.start();
    }
    this.#prefs = prefs;
    await this.check();
  }

  /** The person paused or resumed by hand: what the rules paused is theirs now, never lifted automatically. */
  release(): void {
    this.#holding = false;
    this.#publish(this.#status.allowed, this.#status.reason);
  }

  /** Evaluates the rules now (serialised: one check at a time). */
  check(): Promise<void> {
    // A refused pause or resume (the coordinator takes at most two state changes a second, or it is away just
    // now) is tried again shortly: the rules keep holding until they are applied.
    this.#chain = this.#chain.then(() => this.#apply()).catch(() => {
      clearTimeout(this.#retry);
      if (!this.#disposed) this.#retry = setTimeout(() => void this.check(), RETRY_MS);
    });
    return this.#chain;
  }

  /** Stops watching. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#retry);
    this.#monitor.removeEventListener('change', this.#onChange);
    this.#monitor.stop();
  }

  async #apply(): Promise<void> {
    if (this.#disposed) return;
    const verdict = evaluatePower(this.#prefs, this.#monitor.signals);
    const state = this.#target.state;
    if (!verdict.allowed && state === 'active') {
      this.#holding = true;
      this.#publish(false, verdict.reason);
      await this.#target.pause();
    } else if (verdict.allowed && this.#holding && state === 'paused') {
      this.#holding = false;
      this.#publish(true, '');
      await this.#target.resume();
    } else {
      if (verdict.allowed) this.#holding = false;
      this.#publish(verdict.allowed, verdict.reason);
    }
  }

  #publish(allowed: boolean, reason: string): void {
    const next: PowerStatus = { allowed, reason, holding: this.#holding, batterySupported: this.#monitor.batterySupported };
    const s = this.#status;
    if (s.allowed === next.allowed && s.reason === next.reason && s.holding === next.holding && s.batterySupported === next.batterySupported) return;
    this.#status = next;
    this.#onStatus(next);
  }
}
