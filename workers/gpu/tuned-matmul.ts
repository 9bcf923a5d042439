/**
 * The matmul configuration a worker runs: read from the tuning cache for this adapter, or tuned once
 * (workers/gpu/autotune.ts) and stored. One tuning per device at a time; a lost device tunes again only
 * if its replacement is a different adapter (the cache key says).
 */
import type { MatmulConfig } from '../../shaders/matmul.ts';
import { autotuneMatmul, storedConfig } from './autotune.ts';
import type { GpuHandle } from './device.ts';
import { adapterKey, TuneCache } from './tune-cache.ts';

/** The configuration in use and where it came from. */
export interface TunedMatmul {
  config: MatmulConfig;
  /** Rate measured when it was tuned (GFLOP/s). */
  gflops: number;
  /** Candidates timed when it was tuned. */
  trials: number;
  /** When it was tuned (ms since the epoch). */
  tunedAt: number;
  /** Whether it came from the cache rather than a tuning run now. */
  cached: boolean;
}

/** Budget of a tuning run at the capability probe (ms). */
export const PROBE_TUNING_BUDGET_MS = 3000;

const byDevice = new WeakMap<GPUDevice, Promise<TunedMatmul>>();
let sharedCache: TuneCache | undefined;

/** The tuned configuration of `handle`'s device (cached per device, per adapter, and in IndexedDB). */
export function tunedMatmul(handle: GpuHandle, cache: TuneCache = (sharedCache ??= new TuneCache()), budgetMs = PROBE_TUNING_BUDGET_MS): Promise<TunedMatmul> {
  let entry = byDevice.get(handle.device);
  if (!entry) {
    entry = resolve(handle, cache, budgetMs);
    byDevice.set(handle.device, entry);
    entry.catch(() => byDevice.delete(handle.device));
  }
  return entry;
}

async function resolve(handle: GpuHandle, cache: TuneCache, budgetMs: number): Promise<TunedMatmul> {
  const key = adapterKey(handle.info, handle.limits);
  const stored = await cache.get(key);
  const config = stored && storedConfig(stored.config, handle.limits);
  if (stored && config) return { config, gflops: stored.gflops, trials: stored.trials, tunedAt: stored.at, cached: true };
  const r = await autotuneMatmul(handle.device, handle.limits, { budgetMs });
  const at = Date.now();
  await cache.put({ key, config: r.config, gflops: r.gflops, n: r.n, trials: r.trials.length, at });
  return { config: r.config, gflops: r.gflops, trials: r.trials.length, tunedAt: at, cached: false };
}
