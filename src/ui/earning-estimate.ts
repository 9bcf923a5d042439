/**
 * Credits per hour a contributor can expect while busy, from its measured speed, its caps and its ask. A work
 * unit of a matmul is one MFLOP (src/core/cost.ts), so a device computing G GFLOP/s at duty cycle c runs
 * G * 1000 * c work units a second and earns that times its ask. Other kernels differ; this is an upper bound for
 * a device that always has work, which a mesh with few clients will not give it.
 */
import { MICRO } from '../core/index.ts';

/** Measured speed of the device, GFLOP/s (the capability probe's micro-benchmark). */
export interface MeasuredSpeed {
  cpu: number;
  gpu?: number | undefined;
}

/** Micro-credits per hour while busy, or undefined before the device was measured. */
export function microPerHour(speed: MeasuredSpeed | undefined, caps: { cpuCap: number; gpuCap: number }, askPrice: number): number | undefined {
  if (speed === undefined) return undefined;
  const cpu = Math.max(0, speed.cpu) * caps.cpuCap;
  const gpu = Math.max(0, speed.gpu ?? 0) * caps.gpuCap;
  const unitsPerSecond = Math.max(cpu, gpu) * 1000;
  return Math.round(unitsPerSecond * 3600 * Math.max(0, askPrice));
}

/** The same as credits, rounded for display ("4.5", "1,230"). */
export function creditsPerHourText(micro: number | undefined): string {
  if (micro === undefined) return '—';
  const credits = micro / MICRO;
  const digits = credits >= 100 ? 0 : credits >= 1 ? 1 : 3;
  return credits.toLocaleString('en-US', { maximumFractionDigits: digits });
}
