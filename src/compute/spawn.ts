/**
 * Starts a compute worker and wraps it with comlink. The worker script URL comes from Vite
 * (`?worker&url`, resolved against this module so it follows the SDK when another site imports it).
 * A worker script on another origin cannot be started directly (workers are same-origin only), so then
 * the worker starts from a same-origin blob module that imports the real script, which the mesh's origin
 * serves with CORS and CORP headers.
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
  return {
    worker,
    api,
    shimmed,
    terminate() {
      api[Comlink.releaseProxy]();
      worker.terminate();
      if (shimUrl) URL.revokeObjectURL(shimUrl);
    },
  };
}
