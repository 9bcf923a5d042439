/**
 * onnxruntime-web sessions of one worker, cached by model hash (and EP), with the runtime loaded lazily:
 * - EP 'wasm' uses `onnxruntime-web/wasm`, which fetches ort/ort-wasm-simd-threaded.{mjs,wasm} (14 MB);
 * - EP 'webgpu' uses `onnxruntime-web/webgpu`, which fetches ort/ort-wasm-simd-threaded.asyncify.{mjs,wasm}
 *   (27 MB), and only when a task asks for WebGPU on a context that has an adapter.
 * Both runtimes read their files from `${assetBase}ort/`, so an embed on another site still loads them
 * from the mesh's origin (CORS + CORP headers on that origin make this work under COEP).
 * WASM threads: `threads` when the context is cross-origin isolated (SharedArrayBuffer), else 1; ORT's proxy
 * worker is off (this already is a worker); ORT 1.30 ships SIMD builds only, so SIMD needs no switch.
 * webgpu sessions keep outputs on the GPU ('gpu-buffer') so the runner reads each back exactly once,
 * straight into the ArrayBuffer it transfers (see run-session.ts).
 * The sessions also hold the worker's `ep: 'auto'` state: the choices (ep-choice.ts) and the probe's policy.
 */
import type * as Ort from 'onnxruntime-web';
import { sha256Hex } from '../../src/core/hash.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { EpChoices } from './ep-choice.ts';
import { type AdapterFacts, DEFAULT_PROBE_POLICY, type ProbePolicy } from './ep-policy.ts';
import { announce } from './events.ts';

/** The ORT module API (both entries export the same surface). */
export type OrtModule = typeof Ort;

/** Execution providers this worker can run. */
export type OrtEp = 'wasm' | 'webgpu';

/** Runtime settings; threads only take effect before the first session of an EP is created. */
export interface OrtConfig {
  /** ORT WASM threads; forced to 1 unless the context is cross-origin isolated. */
  threads: number;
  /** URL of the dist root, where `ort/` lives. */
  assetBase: string;
}

/** A cached session with the runtime and EP it runs on. */
export interface SessionEntry {
  readonly session: Ort.InferenceSession;
  readonly ort: OrtModule;
  readonly ep: OrtEp;
  readonly modelHash: string;
}

/** Sessions kept per worker; the least recently used is released beyond this (models can be large). */
const MAX_SESSIONS = 4;

/** Loads ORT runtimes and caches sessions by model hash. */
export class OnnxSessions {
  /** EP choices for `ep: 'auto'` (memory + IndexedDB by default). */
  readonly choices: EpChoices;
  /** Bounds of the `ep: 'auto'` probe. */
  readonly probePolicy: ProbePolicy;
  #config: OrtConfig;
  #runtimes = new Map<OrtEp, Promise<OrtModule>>();
  #sessions = new Map<string, Promise<SessionEntry>>();
  #adapter: Promise<AdapterFacts | undefined> | undefined;

  /** Defaults: 1 thread, assets at the origin root, choices in IndexedDB, DEFAULT_PROBE_POLICY. */
  constructor(config?: Partial<OrtConfig>, opts: { choices?: EpChoices; probePolicy?: Partial<ProbePolicy> } = {}) {
    this.#config = { threads: 1, assetBase: defaultAssetBase(), ...config };
    this.choices = opts.choices ?? new EpChoices();
    this.probePolicy = { ...DEFAULT_PROBE_POLICY, ...opts.probePolicy };
  }

  /** Current settings, with the thread count actually usable here. */
  get config(): OrtConfig {
    return { ...this.#config, threads: usableThreads(this.#config.threads) };
  }

  /** Updates settings; a thread change after a runtime started is refused, as ORT fixes it at start-up. */
  configure(opts: { threads?: number; assetBase?: string }): void {
    if (opts.threads !== undefined) {
      if (!Number.isInteger(opts.threads) || opts.threads < 1 || opts.threads > 64) {
        throw new RangeError(`Cannot configure ORT as 'threads' must be an integer 1..64: current value is ${opts.threads}`);
      }
      if (this.#runtimes.size > 0 && usableThreads(opts.threads) !== this.config.threads) {
        throw new MeshError('conflict', `Cannot change ORT threads to ${opts.threads} as the runtime already started with ${this.config.threads}`);
      }
      this.#config.threads = opts.threads;
    }
    if (opts.assetBase !== undefined) {
      let url: URL;
      try {
        url = new URL(opts.assetBase);
      } catch {
        throw new TypeError(`Cannot configure ORT as 'assetBase' must be an absolute URL: current value is ${opts.assetBase}`);
      }
      this.#config.assetBase = url.href.endsWith('/') ? url.href : `${url.href}/`;
    }
  }

  /** Whether a session for `modelHash` is ready or being created. */
  has(modelHash: string): boolean {
    return [...this.#sessions.keys()].some((k) => k.startsWith(`${modelHash}|`));
  }

  /** The WebGPU adapter this context would get (its facts, asked once), or undefined without one. */
  adapter(): Promise<AdapterFacts | undefined> {
    this.#adapter ??= (async () => {
      try {
        const adapter = await globalThis.navigator?.gpu?.requestAdapter();
        if (!adapter) return undefined;
        const { vendor, architecture, device, description, isFallbackAdapter } = adapter.info;
        return { vendor, architecture, device, description, isFallbackAdapter: isFallbackAdapter === true };
      } catch {
        return undefined;
      }
    })();
    return this.#adapter;
  }

  /** The EP a task asking for `wanted` gets here: 'webgpu' only when asked for and an adapter exists. */
  async resolveEp(wanted: OrtEp | undefined): Promise<OrtEp> {
    if (wanted !== 'webgpu') return 'wasm';
    return (await this.adapter()) ? 'webgpu' : 'wasm';
  }

  /** The session for a model, created from `model` (checked against `modelHash`) when not cached. */
  async get(modelHash: string, model: ArrayBuffer | undefined, wanted?: OrtEp): Promise<SessionEntry> {
    const ep = await this.resolveEp(wanted);
    const key = `${modelHash}|${ep}`;
    let entry = this.#sessions.get(key);
    if (entry) {
      // Refresh its place in the LRU order.
      this.#sessions.delete(key);
      this.#sessions.set(key, entry);
      return entry;
    }
    // Another EP's session for the same model serves when the bytes are not here to build a new one.
    const other = [...this.#sessions.entries()].find(([k]) => k.startsWith(`${modelHash}|`));
    if (!model && other) return other[1];
    if (!model) {
      throw new MeshError('not-found', `Cannot run ONNX model ${modelHash} as this worker holds no session for it and no model bytes were sent`);
    }
    entry = this.#create(modelHash, model, ep);
    this.#sessions.set(key, entry);
    entry.catch(() => {
      if (this.#sessions.get(key) === entry) this.#sessions.delete(key);
    });
    await this.#evict();
    return entry;
  }

  /**
   * Takes the cached session of (model, ep) out of the cache, so no later task gets it, and returns it;
   * the caller releases it (see release()) once nothing runs on it.
   */
  detach(modelHash: string, ep: OrtEp): Promise<SessionEntry> | undefined {
    const key = `${modelHash}|${ep}`;
    const entry = this.#sessions.get(key);
    this.#sessions.delete(key);
    return entry;
  }

  /** Loads the ORT runtime of `ep` (what the first session of that EP waits for). */
  loadRuntime(ep: OrtEp): Promise<OrtModule> {
    return this.#runtime(ep);
  }

  async #create(modelHash: string, model: ArrayBuffer, ep: OrtEp): Promise<SessionEntry> {
    const actual = await sha256Hex(model);
    if (actual !== modelHash) {
      throw new MeshError('hash-mismatch', `Cannot load ONNX model as its bytes hash to ${actual}, not the announced ${modelHash}`);
    }
    try {
      return await this.#open(modelHash, model, ep);
    } catch (err) {
      // A model the WebGPU EP cannot take (unsupported op, device trouble) still runs on wasm.
      if (ep !== 'webgpu') throw err;
      console.warn(`meshwork: ${(err as Error).message}; falling back to the wasm EP`);
      return this.#open(modelHash, model, 'wasm');
    }
  }

  async #open(modelHash: string, model: ArrayBuffer, ep: OrtEp): Promise<SessionEntry> {
    const ort = await this.#runtime(ep);
    try {
      const started = performance.now();
      // ORT copies the bytes into its heap (proxy off), so `model` stays usable for a fallback.
      const session = await ort.InferenceSession.create(new Uint8Array(model), {
        executionProviders: [ep],
        graphOptimizationLevel: 'all',
        ...(ep === 'webgpu' ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
      });
      announce({ type: 'session-created', modelHash, ep, ms: performance.now() - started });
      return { session, ort, ep, modelHash };
    } catch (err) {
      throw new MeshError('onnx-failed', `Cannot create an ORT session (${ep}) for model ${modelHash}: ${(err as Error).message}`, { cause: err });
    }
  }

  #runtime(ep: OrtEp): Promise<OrtModule> {
    let runtime = this.#runtimes.get(ep);
    if (!runtime) {
      const { threads, assetBase } = this.config;
      runtime = (async () => {
        const ort: OrtModule = ep === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
        ort.env.wasm.numThreads = threads;
        ort.env.wasm.wasmPaths = `${assetBase}ort/`;
        // This worker already is the off-main-thread context; ORT's own proxy worker would add a hop.
        ort.env.wasm.proxy = false;
        ort.env.logLevel = 'error';
        return ort;
      })();
      this.#runtimes.set(ep, runtime);
      runtime.catch(() => this.#runtimes.delete(ep));
    }
    return runtime.catch((err: unknown) => {
      throw new MeshError('onnx-failed', `Cannot load onnxruntime-web (${ep}) from ${this.#config.assetBase}ort/: ${(err as Error).message}`, { cause: err });
    });
  }

  async #evict(): Promise<void> {
    while (this.#sessions.size > MAX_SESSIONS) {
      const [key, oldest] = this.#sessions.entries().next().value as [string, Promise<SessionEntry>];
      this.#sessions.delete(key);
      const entry = await oldest.catch(() => undefined);
      if (entry) await release(entry);
    }
  }
}

/** Releases a session's ORT resources; errors (already released, device lost) are ignored. */
export async function release(entry: SessionEntry): Promise<void> {
  await entry.session.release().catch(() => undefined);
}

function usableThreads(requested: number): number {
  // WASM threads need SharedArrayBuffer, which only cross-origin isolated contexts get.
  return globalThis.crossOriginIsolated ? requested : 1;
}

function defaultAssetBase(): string {
  // In a blob-shimmed worker location is blob:..., whose origin is still the page's.
  const origin = globalThis.location?.origin;
  return origin && origin !== 'null' ? `${origin}/` : 'http://localhost/';
}
