/** Options of `client.serve()` and `client.join()`, checked and with defaults applied. */
import { DEFAULT_BID } from '../../core/cost.ts';
import type { Tolerance } from '../../core/verify.ts';
import { MAX_REPLICAS, MAX_SERVE_BATCH, MAX_SERVE_WAIT_MS } from '../../protocol/serving.ts';

/** Options of `client.serve()`. */
export interface ServeOptions {
  /** The ONNX model: its URL (contributors fetch it from there and check its hash) and a name for people. */
  model: { url: string; name?: string };
  /** Output names, in order. */
  outputs: string[];
  /** Largest batch a replica runs, in items (default 8; 1 turns continuous batching off). */
  maxBatch?: number;
  /** Longest a replica waits for more requests when its queue is short, ms (default 2). */
  maxWaitMs?: number;
  /** Contributors serving it at once (default 1, at most 8). */
  replicas?: number;
  /** Most micro-credits per work unit (1000 per item) paid (default 2). */
  bid?: number;
  /** Micro-credits held in escrow for requests (default 10 credits). */
  budget?: number;
  /** Other clients may join and send requests, each paying from an escrow of its own (default false). */
  shared?: boolean;
  /** The service closes by itself after this many ms (default one hour). */
  ttlMs?: number;
  /** Fraction of requests also sent to a second replica and compared (default 0). */
  spotCheck?: number;
  /** Tolerance of that comparison (default abs 1e-4, rel 1e-3). */
  tolerance?: Tolerance;
  /** Longest one request may take, retries included, ms (default 60 s). */
  timeoutMs?: number;
}

/** Options of `client.join()` (a shared service another client opened). */
export interface JoinOptions {
  /** Micro-credits held in escrow for this client's requests (default 10 credits). */
  budget?: number;
  spotCheck?: number;
  tolerance?: Tolerance;
  timeoutMs?: number;
}

/** ServeOptions with defaults applied. */
export type ResolvedServeOptions = Required<Omit<ServeOptions, 'model'>> & { model: ServeOptions['model'] };

/** Default escrow of a service or a joiner: 10 credits. */
export const DEFAULT_SERVE_BUDGET = 10_000_000;

/** Checks `opts` and applies defaults; throws TypeError/RangeError naming the bad option. */
export function resolveServeOptions(opts: ServeOptions): ResolvedServeOptions {
  if (!opts?.model || typeof opts.model.url !== 'string') throw new TypeError(`Cannot serve as 'model.url' must be a string: current value is ${String(opts?.model?.url)}`);
  if (!Array.isArray(opts.outputs) || opts.outputs.length === 0) throw new TypeError(`Cannot serve as 'outputs' must name at least one output: current value is ${JSON.stringify(opts.outputs)}`);
  const r: ResolvedServeOptions = {
    model: opts.model,
    outputs: [...opts.outputs],
    maxBatch: opts.maxBatch ?? 8,
    maxWaitMs: opts.maxWaitMs ?? 2,
    replicas: opts.replicas ?? 1,
    bid: opts.bid ?? DEFAULT_BID,
    budget: opts.budget ?? DEFAULT_SERVE_BUDGET,
    shared: opts.shared ?? false,
    ttlMs: opts.ttlMs ?? 3_600_000,
    spotCheck: opts.spotCheck ?? 0,
    tolerance: opts.tolerance ?? { abs: 1e-4, rel: 1e-3 },
    timeoutMs: opts.timeoutMs ?? 60_000,
  };
  intIn('maxBatch', r.maxBatch, 1, MAX_SERVE_BATCH);
  intIn('maxWaitMs', r.maxWaitMs, 0, MAX_SERVE_WAIT_MS);
  intIn('replicas', r.replicas, 1, MAX_REPLICAS);
  intIn('bid', r.bid, 0, 1e15);
  intIn('budget', r.budget, 1, 1e15);
  intIn('ttlMs', r.ttlMs, 10_000, 7 * 24 * 3600 * 1000);
  intIn('timeoutMs', r.timeoutMs, 1, 3_600_000);
  if (!(r.spotCheck >= 0 && r.spotCheck <= 1)) throw new RangeError(`Cannot serve as 'spotCheck' must be from 0 to 1: current value is ${r.spotCheck}`);
  return r;
}

function intIn(name: string, v: number, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`Cannot serve as '${name}' must be an integer from ${min} to ${max}: current value is ${v}`);
}
