/**
 * The matmul configuration a worker runs: read from the tuning cache for this adapter, or tuned at the
 * capability probe within a budget and stored. Candidates the budget left untimed are timed later, one
 * per `refineMatmul()` call (the compute pool calls it through its throttled GPU lane when idle), and the
 * stored choice is updated as better ones turn up; a stored choice is marked complete once every
 * candidate was timed, and then never re-tuned for that adapter.
 */
import type { MatmulConfig } from '../../shaders/matmul.ts';
import { MatmulTuner, storedConfig, type TuneResult } from './autotune.ts';
import type { GpuHandle } from './device.ts';
import { adapterKey, TuneCache } from './tune-cache.ts';

/** The configuration in use and where it came from. */
export interface TunedMatmul {
  config: MatmulConfig;
  /** Rate measured when it was tuned (GFLOP/s). */
  gflops: number;
  /** Candidates timed so far. */
  trials: number;
  /** When it was (last) tuned (ms since the epoch). */
  tunedAt: number;
  /** Whether it came from the cache rather than a tuning run now. */
  cached: boolean;
  /** Whether every candidate has been timed. */
  complete: boolean;
}

/** Budget of the tuning at the capability probe (ms); the rest is refined later. */
export const PROBE_TUNING_BUDGET_MS = 3000;

interface DeviceTuning {
  key: string;
  cache: TuneCache;
  current: TunedMatmul;
  /** An unfinished tuning, started lazily by refineMatmul() when the stored choice is incomplete. */
  tuner?: Promise<MatmulTuner> | undefined;
}

const byDevice = new WeakMap<GPUDevice, Promise<DeviceTuning>>();
let sharedCache: TuneCache | undefined;

/** The tuned configuration of `handle`'s device (cached per device, per adapter, and in IndexedDB). */
export async function tunedMatmul(handle: GpuHandle, cache: TuneCache = (sharedCache ??= new TuneCache()), budgetMs = PROBE_TUNING_BUDGET_MS): Promise<TunedMatmul> {
  return (await deviceTuning(handle, cache, budgetMs)).current;
}

/**
 * Times one more candidate for `handle`'s device when its tuning is incomplete, updating the stored
 * choice; returns the configuration in use and whether tuning is now complete.
 */
export async function refineMatmul(handle: GpuHandle, cache: TuneCache = (sharedCache ??= new TuneCache())): Promise<TunedMatmul> {
  const t = await deviceTuning(handle, cache, PROBE_TUNING_BUDGET_MS);
  if (t.current.complete) return t.current;
  // A choice read back from the cache resumes with a fresh tuner (the first candidate is re-timed).
  t.tuner ??= MatmulTuner.start(handle.device, handle.limits);
  const tuner = await t.tuner;
  await tuner.step();
  await record(t, tuner.result, tuner.done);
  if (tuner.done) t.tuner = undefined;
  return t.current;
}

function deviceTuning(handle: GpuHandle, cache: TuneCache, budgetMs: number): Promise<DeviceTuning> {
  let entry = byDevice.get(handle.device);
  if (!entry) {
    entry = resolve(handle, cache, budgetMs);
    byDevice.set(handle.device, entry);
    entry.catch(() => byDevice.delete(handle.device));
  }
  return entry;
}

async function resolve(handle: GpuHandle, cache: TuneCache, budgetMs: number): Promise<DeviceTuning> {
  const key = adapterKey(handle.info, handle.limits);
  const stored = await cache.get(key);
  const config = stored && storedConfig(stored.config, handle.limits);
  if (stored && config) {
    return { key, cache, current: { config, gflops: stored.gflops, trials: stored.trials, tunedAt: stored.at, cached: true, complete: stored.complete === true } };
  }
  const started = performance.now();
  const tuner = await MatmulTuner.start(handle.device, handle.limits);
  while (!tuner.done && performance.now() - started <= budgetMs) await tuner.step();
  const t: DeviceTuning = { key, cache, current: placeholder(tuner.result), ...(tuner.done ? {} : { tuner: Promise.resolve(tuner) }) };
  await record(t, tuner.result, tuner.done);
  return t;
}

function placeholder(r: TuneResult): TunedMatmul {
  return { config: r.config, gflops: r.gflops, trials: r.trials.length, tunedAt: Date.now(), cached: false, complete: false };
}

async function record(t: DeviceTuning, r: TuneResult, complete: boolean): Promise<void> {
  const at = Date.now();
  // A resumed tuning that has not yet beaten the stored choice keeps it (its rate was measured too).
  const keep = t.current.cached && t.current.gflops >= r.gflops;
  const config = keep ? t.current.config : r.config;
  const gflops = keep ? t.current.gflops : r.gflops;
  t.current = { config, gflops, trials: r.trials.length, tunedAt: at, cached: t.current.cached, complete };
  await t.cache.put({ key: t.key, config, gflops, n: r.n, trials: r.trials.length, complete, at });
}
