/** The script tag's data attributes, read and checked (embed.ts). */
import { coordinatorBase, coordinatorList } from '../mesh/coordinator-list.ts';

/** Settings read from the script tag's data attributes. */
export interface EmbedConfig {
  /** Coordinator base URL, the first of `coordinators` (consent is remembered per this one). */
  coordinator: string;
  /**
   * The coordinators the session may use, in order: `data-coordinator` (reduced to its origin), then those of
   * `data-coordinators`; the origin this script was loaded from when neither is given.
   */
  coordinators: string[];
  cpuCap: number;
  gpuCap: number;
  /** Micro-credits asked per work unit. */
  askPrice: number;
}

function fraction(name: string, raw: string | undefined, fallback: number, lo: number, hi: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < lo || v > hi) {
    throw new RangeError(`Cannot start the Meshwork embed as '${name}' must be a number in [${lo}, ${hi}]: current value is '${raw}'`);
  }
  return v;
}

/** Reads and checks the data attributes; the coordinator defaults to this module's own origin. */
export function readEmbedConfig(data: DOMStringMap, moduleUrl: string): EmbedConfig {
  const listed = (data['coordinators'] ?? '').split(/[\s,]+/).filter((u) => u !== '');
  const given = [
    ...(data['coordinator'] === undefined ? [] : [new URL(coordinatorBase(data['coordinator'], 'data-coordinator')).origin]),
    ...(listed.length === 0 ? [] : coordinatorList(listed, 'data-coordinators')),
  ];
  const coordinators = coordinatorList(given.length > 0 ? given : [new URL(moduleUrl).origin], 'data-coordinators');
  return {
    coordinator: coordinators[0]!,
    coordinators,
    cpuCap: fraction('data-cpu-cap', data['cpuCap'], 0.25, 0.05, 1),
    gpuCap: fraction('data-gpu-cap', data['gpuCap'], 0.25, 0.05, 1),
    askPrice: Math.round(fraction('data-ask-price', data['askPrice'], 1, 0, 1e9)),
  };
}
