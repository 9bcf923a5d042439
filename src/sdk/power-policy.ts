/**
 * When a contributor's own rules allow work: pause-when-hidden, idle-only, charging-only, a battery floor. Pure,
 * so it is testable; power-monitor.ts observes the signals and power-guard.ts applies the verdict.
 */

/** The contributor's choices. `batteryFloor` is a level in [0, 1]; 0 turns the floor off. */
export interface PowerPrefs {
  idleOnly: boolean;
  chargingOnly: boolean;
  batteryFloor: number;
  /** Pause while the page is hidden (default false). */
  pauseWhenHidden?: boolean;
}

/** What the page can observe. `battery` is undefined where the Battery Status API is unavailable. */
export interface PowerSignals {
  idle: boolean;
  /** Whether the page is hidden (another tab, minimised); undefined counts as visible. */
  hidden?: boolean;
  battery?: { charging: boolean; level: number } | undefined;
}

/** Whether work may run now, and why not when it may not. */
export interface PowerVerdict {
  allowed: boolean;
  reason: string;
}

/** Defaults: no restrictions beyond the caps. */
export const DEFAULT_POWER_PREFS: PowerPrefs = { idleOnly: false, chargingOnly: false, batteryFloor: 0 };

/**
 * Applies the prefs to the signals. Battery rules are skipped where battery status is unknown (desktop
 * Firefox and Safari lack the API); the UI disables those options there and says so.
 */
export function evaluatePower(prefs: PowerPrefs, signals: PowerSignals): PowerVerdict {
  if (prefs.batteryFloor < 0 || prefs.batteryFloor > 1) {
    throw new RangeError(`Cannot apply power rules as 'batteryFloor' must be in [0, 1]: current value is ${prefs.batteryFloor}`);
  }
  if (prefs.pauseWhenHidden === true && signals.hidden === true) return { allowed: false, reason: 'paused while the tab is hidden' };
  if (prefs.idleOnly && !signals.idle) return { allowed: false, reason: 'waiting until this device is idle' };
  const battery = signals.battery;
  if (battery !== undefined) {
    if (prefs.chargingOnly && !battery.charging) return { allowed: false, reason: 'waiting for the charger' };
    if (prefs.batteryFloor > 0 && !battery.charging && battery.level < prefs.batteryFloor) {
      return {
        allowed: false,
        reason: `battery at ${Math.round(battery.level * 100)}%, below the ${Math.round(prefs.batteryFloor * 100)}% floor`,
      };
    }
  }
  return { allowed: true, reason: '' };
}
