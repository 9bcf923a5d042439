/**
 * Starts a compute worker and wraps it with comlink. The worker script URL comes from Vite
 * (`?worker&url`, resolved against this module so it follows the SDK when another site imports it).
 * A worker script on another origin cannot be started directly (workers are same-origin only), so then
 * the worker starts from a same-origin blob module that imports the real script, which the mesh's origin
 * serves with CORS and CORP headers.
 *
 * Each worker holds a Web Lock of its own for as long as it lives, and the page asks for the same lock: the
 * page gets it exactly when the worker is gone (terminated, closed itself, crashed), which no event reports.
 */
import * as Comlink from 'comlink';
import { installWireErrors } from '../core/wire-errors.ts';
import type { ComputeWorkerApi } from '../protocol/worker.ts';
import workerUrl from '../../workers/compute.worker.ts?worker&url';

/** A started compute worker. */
export interface SpawnedWorker {
  readonly worker: Worker;
  readonly api: Comlink.Remote<ComputeWorkerApi>;
  /** Whether the worker was started through a blob shim (script on another origin). */
  readonly shimmed: boolean;
  /** Resolves once the worker is gone (its liveness lock came free); never where Web Locks are missing. */
  readonly gone: Promise<void>;
  /** Terminates the worker and releases the comlink proxy and any shim URL. */
  terminate(): void;
}

/** Absolute URL of the compute worker script. */
export function computeWorkerUrl(): URL {
  return new URL(workerUrl, import.meta.url);
}

/** Starts one compute worker named `name` (shown in devtools). */
export function spawnComputeWorker(name: string, scriptUrl: URL = computeWorkerUrl()): SpawnedWorker {
  // Errors thrown in the worker arrive as MeshError/TypeError/RangeError with their code, not plain Error.
  installWireErrors(Comlink.transferHandlers);
  const shimmed = typeof location !== 'undefined' && scriptUrl.origin !== location.origin;
  let shimUrl: string | undefined;
  let worker: Worker;
  if (shimmed) {
    const shim = new Blob([`import ${JSON.stringify(scriptUrl.href)};\n`], { type: 'text/javascript' });
    shimUrl = URL.createObjectURL(shim);
    worker = new Worker(shimUrl, { type: 'module', name });
  } else {
    worker = new Worker(scriptUrl, { type: 'module', name });
  }
  const api = Comlink.wrap<ComputeWorkerApi>(worker);
  const watch = new AbortController();
  return {
    worker,
    api,
    shimmed,
    gone: watchLiveness(api, `meshwork-worker:${name}:${crypto.randomUUID()}`, watch.signal),
    terminate() {
      // Our own termination is no news: stop watching first.
      watch.abort();
      api[Comlink.releaseProxy]();
      worker.terminate();
      if (shimUrl) URL.revokeObjectURL(shimUrl);
    },
  };
}

const never = new Promise<void>(() => {});

/**
 * Resolves when the worker behind `api` no longer holds the lock `lockName`: it takes the lock first (and answers
 * once it holds it), then the page queues for the same lock, which it can only get when the worker is gone.
 * Never resolves without Web Locks, when `signal` aborts, or when the worker dies before it answered (then its
 * calls' deadlines and the 'error' event still catch it).
 */
async function watchLiveness(api: Comlink.Remote<ComputeWorkerApi>, lockName: string, signal: AbortSignal): Promise<void> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return never;
  try {
    if (!(await api.holdLock(lockName)) || signal.aborted) return never;
    await locks.request(lockName, { signal }, () => {});
  } catch {
    return never; // aborted: the pool terminated the worker itself
  }
  if (signal.aborted) return never;
}
