/** The contributor's saved choices (consent, caps, ask price, power rules), kept in localStorage. */
import type { PowerOptions } from '../sdk/types.ts';

/** Everything the contributor view remembers between visits. Caps are duty-cycle fractions in [0.05, 1]. */
export interface ContributorPrefs extends Required<Pick<PowerOptions, 'idleOnly' | 'chargingOnly' | 'batteryFloor'>> {
  consent: boolean;
  /** Whether this device was contributing when last seen: with consent, it starts again by itself on the next visit. */
  contributing: boolean;
  cpuCap: number;
  gpuCap: number;
  /** Micro-credits per work unit. */
  askPrice: number;
}

/** Defaults: no consent yet, a quarter of CPU and GPU, the protocol's default ask. */
export const DEFAULT_PREFS: ContributorPrefs = {
  consent: false,
  contributing: false,
  cpuCap: 0.25,
  gpuCap: 0.25,
  askPrice: 1,
  idleOnly: false,
  chargingOnly: false,
  batteryFloor: 0,
};

const KEY = 'meshwork.contributor.v1';

const clamp = (v: unknown, lo: number, hi: number, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;

/** Reads saved prefs, falling back field by field to the defaults for anything missing or malformed. */
export function loadPrefs(storage: Pick<Storage, 'getItem'> | undefined): ContributorPrefs {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(KEY) ?? '{}');
    if (parsed !== null && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  } catch {
    // Corrupt entry: start from the defaults rather than refusing to load the page.
  }
  const d = DEFAULT_PREFS;
  return {
    consent: raw['consent'] === true,
    contributing: raw['consent'] === true && raw['contributing'] === true,
    cpuCap: clamp(raw['cpuCap'], 0.05, 1, d.cpuCap),
    gpuCap: clamp(raw['gpuCap'], 0.05, 1, d.gpuCap),
    askPrice: Math.round(clamp(raw['askPrice'], 0, 1e9, d.askPrice)),
    idleOnly: raw['idleOnly'] === true,
    chargingOnly: raw['chargingOnly'] === true,
    batteryFloor: clamp(raw['batteryFloor'], 0, 1, d.batteryFloor),
  };
}

/** Saves prefs; storage failures (private mode, quota) are ignored because prefs are a convenience. */
export function savePrefs(storage: Pick<Storage, 'setItem'> | undefined, prefs: ContributorPrefs): void {
  try {
    storage?.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Not persisted; the current session still uses the values.
  }
}
