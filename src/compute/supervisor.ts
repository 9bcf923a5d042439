/**
 * One compute worker under supervision. Every call to the worker goes through `call()`, which knows what is in
 * flight, so a worker that dies never leaves a caller waiting. Each of these is a crash:
 * - an 'error' event (an uncaught throw in the worker, or a script that failed to load);
 * - a 'messageerror' event (a message that could not be deserialized: the channel is no longer trustworthy);
 * - `gone` resolving: the worker let go of its liveness lock, so it was terminated or closed itself (spawn.ts);
 * - a call still running at its deadline: the worker hangs, or is too slow for the lease that asked.
 * A crash terminates the worker, rejects every call in flight with MeshError 'worker-crashed' (the call past its
 * deadline with 'timeout') and raises a 'crash' event. The next call starts a fresh worker and runs `init` on it
 * before anything else, so what the old one held (GPU device, ORT sessions) is rebuilt lazily there. The
 * supervisor itself never stops respawning: whoever listens to 'crash' decides when crashes are too many.
 */
import { MeshError } from '../protocol/errors.ts';

/** A started worker as the supervisor needs it (spawn.ts SpawnedWorker fits). */
export interface SupervisedWorker<Api> {
  /** Dispatches 'error' and 'messageerror'. */
  readonly worker: EventTarget;
  readonly api: Api;
  /** Resolves once the worker is gone (terminated, closed or crashed); may never resolve where that cannot be told. */
  readonly gone?: Promise<void>;
  terminate(): void;
}

/** What a crash was: the worker died, or a call ran past its deadline. */
export type CrashKind = 'worker-crashed' | 'timeout';

/** Detail of the 'crash' event. */
export interface CrashDetail {
  /** The supervisor's name ('gpu', 'onnx'). */
  lane: string;
  failure: CrashKind;
  message: string;
}

/** Options of a WorkerSupervisor. */
export interface SupervisorOptions<Api> {
  /** Name used in messages and events ('gpu', 'onnx'). */
  name: string;
  /** Starts a fresh worker. */
  spawn(): SupervisedWorker<Api>;
  /** Runs on every fresh worker before its first call (configuration); its failure is that worker's crash. */
  init?(api: Api): Promise<void>;
  /** Longest time `init` may take, in ms (default 60 s): a worker that does not answer by then hangs. */
  initTimeoutMs?: number;
}

/** Options of one call. */
export interface CallOptions {
  /** Time (ms since the epoch) by which the call must have settled; past it the worker counts as hung. */
  deadline?: number | undefined;
  /** What the call does, for messages ('a WGSL dispatch'). */
  what?: string;
}

interface InFlight {
  what: string;
  reject(err: unknown): void;
  timer?: ReturnType<typeof setTimeout>;
}

interface Live<Api> {
  readonly worker: SupervisedWorker<Api>;
  readonly calls: Set<InFlight>;
  ready: Promise<void>;
}

/** setTimeout's longest delay. */
const MAX_DELAY_MS = 2 ** 31 - 1;
const DEFAULT_INIT_TIMEOUT_MS = 60_000;

/** One worker at a time, respawned after each crash. Events: 'crash' (CustomEvent<CrashDetail>). */
export class WorkerSupervisor<Api> extends EventTarget {
  readonly name: string;
  readonly #opts: SupervisorOptions<Api>;
  #current: Live<Api> | undefined;
  #spawned = 0;
  #closed = false;

  constructor(opts: SupervisorOptions<Api>) {
    super();
    this.name = opts.name;
    this.#opts = opts;
  }

  /** Whether a worker is running now (false after a crash until the next call starts one). */
  get alive(): boolean {
    return this.#current !== undefined;
  }

  /** Workers started so far. */
  get spawned(): number {
    return this.#spawned;
  }

  /** Starts a worker unless one runs, and resolves once its `init` is done; rejects as a call would. */
  start(opts: CallOptions = {}): Promise<void> {
    return this.call(() => Promise.resolve(), { what: 'start-up', ...opts });
  }

  /** Runs `fn` against the worker's API (starting a worker if none runs), supervised as the header says. */
  call<T>(fn: (api: Api) => Promise<T>, opts: CallOptions = {}): Promise<T> {
    const what = opts.what ?? 'a task';
    if (this.#closed) return Promise.reject(closedError(this.name, what));
    const { deadline } = opts;
    if (deadline !== undefined && deadline <= Date.now()) {
      return Promise.reject(new MeshError('timeout', `Cannot run ${what} on the ${this.name} worker as its deadline passed ${Date.now() - deadline} ms ago`));
    }
    const live = this.#current ?? this.#spawn();
    return new Promise<T>((resolve, reject) => {
      const call: InFlight = { what, reject };
      live.calls.add(call);
      if (deadline !== undefined) this.#hangAt(live, call, deadline, Date.now());
      const settle = (ok: boolean, value: unknown) => {
        if (!live.calls.delete(call)) return; // rejected by a crash already
        clearTimeout(call.timer);
        if (ok) resolve(value as T);
        else reject(value);
      };
      live.ready.then(() => fn(live.worker.api)).then((v) => settle(true, v), (e) => settle(false, e));
    });
  }

  /** Replaces the worker with a fresh one on the next call (no 'crash' event); calls in flight reject 'cancelled'. */
  restart(reason: string): void {
    const live = this.#current;
    if (!live) return;
    this.#end(live, new MeshError('cancelled', `Cannot finish the call as the ${this.name} worker was restarted: ${reason}`));
  }

  /** Stops the worker for good; calls in flight and later ones reject with MeshError 'cancelled'. */
  terminate(): void {
    if (this.#closed) return;
    this.#closed = true;
    const live = this.#current;
    if (live) this.#end(live, closedError(this.name, 'the call'));
  }

  #spawn(): Live<Api> {
    const worker = this.#opts.spawn();
    this.#spawned++;
    const live: Live<Api> = { worker, calls: new Set(), ready: Promise.resolve() };
    this.#current = live;
    const label = `the ${this.name} compute worker`;
    worker.worker.addEventListener('error', (ev) => {
      ev.preventDefault();
      const message = (ev as ErrorEvent).message || 'its script failed to load or threw';
      this.#crash(live, 'worker-crashed', `Cannot keep ${label} as it failed: ${message}`);
    });
    worker.worker.addEventListener('messageerror', () => {
      this.#crash(live, 'worker-crashed', `Cannot keep ${label} as a message from it could not be read`);
    });
    worker.gone?.then(() => this.#crash(live, 'worker-crashed', `Cannot keep ${label} as it was terminated or exited`), () => {});
    const init = this.#opts.init;
    if (init) {
      const limit = this.#opts.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new MeshError('timeout', `its start-up took over ${limit} ms`)), limit);
      });
      live.ready = Promise.race([init(worker.api), hung]).finally(() => clearTimeout(timer));
      // Registered before any call chains on `ready`, so callers hear the crash, not the bare init error.
      live.ready.catch((err: unknown) => {
        const timedOut = err instanceof MeshError && err.code === 'timeout';
        this.#crash(live, timedOut ? 'timeout' : 'worker-crashed', `Cannot start ${label}: ${(err as Error)?.message ?? String(err)}`);
      });
    }
    return live;
  }

  /** Arms the deadline of `call`: if it is still in flight then, the worker hangs and is replaced. */
  #hangAt(live: Live<Api>, call: InFlight, deadline: number, startedAt: number): void {
    call.timer = setTimeout(() => {
      if (!live.calls.has(call)) return;
      if (Date.now() < deadline) return this.#hangAt(live, call, deadline, startedAt);
      this.#crash(live, 'timeout', `Cannot finish ${call.what} on the ${this.name} worker before its deadline: it ran ${Date.now() - startedAt} ms, so the worker was restarted`, call);
    }, Math.min(Math.max(deadline - Date.now(), 0), MAX_DELAY_MS));
  }

  #crash(live: Live<Api>, failure: CrashKind, message: string, culprit?: InFlight): void {
    if (this.#current !== live) return; // already replaced or stopped
    const others = new MeshError('worker-crashed', failure === 'timeout' && culprit ? `Cannot finish the call as the ${this.name} worker was restarted: ${message}` : message);
    this.#end(live, others, culprit && { call: culprit, err: new MeshError(failure, message) });
    this.dispatchEvent(new CustomEvent<CrashDetail>('crash', { detail: { lane: this.name, failure, message } }));
  }

  #end(live: Live<Api>, err: Error, special?: { call: InFlight; err: Error }): void {
    if (this.#current === live) this.#current = undefined;
    try {
      live.worker.terminate();
    } catch {
      // Already gone.
    }
    const calls = [...live.calls];
    live.calls.clear();
    for (const c of calls) {
      clearTimeout(c.timer);
      c.reject(c === special?.call ? special.err : err);
    }
  }
}

function closedError(name: string, what: string): MeshError {
  return new MeshError('cancelled', `Cannot run ${what} on the ${name} worker as the pool was terminated`);
}
