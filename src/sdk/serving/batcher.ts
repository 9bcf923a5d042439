/**
 * Continuous batching for a serving replica. Requests queue per client; whenever the runner is free it takes
 * the next batch at once if the queue holds `maxBatch` items, else after the oldest queued request has waited
 * `maxWaitMs` (so requests arriving while a batch runs join the next one instead of waiting for a job to
 * end). The wait is skipped while requests arrive further apart than `maxWaitMs` on average (a lone caller):
 * nothing would join, so waiting would only add latency. A batch takes items round robin across clients, starting after the client served first last time,
 * so one client flooding the queue cannot starve the others; only items of one shape key share a batch (they
 * are concatenated along axis 0). Queues are bounded (per client and in all): past a bound a request is
 * refused at once with a 'busy' answer and a retry-after estimate from the measured batch times, never queued.
 */

/** Why a request was refused: the whole queue or the client's share of it is full, or the batcher closed. */
export type BusyReason = 'queue-full' | 'client-queue-full' | 'closed';

/** A refusal: try another replica, or this one after `retryAfterMs`. */
export interface Busy {
  reason: BusyReason;
  retryAfterMs: number;
}

/** Options of a batcher. */
export interface BatcherOptions<T, R> {
  /** Largest batch, in items (a request may carry several items). */
  maxBatch: number;
  /** Longest a queued request waits for others to join its batch while the queue is short (ms). */
  maxWaitMs: number;
  /** Items queued at most, over all clients. */
  maxQueue: number;
  /** Items one client may have queued at most. */
  maxPerClient: number;
  /** Runs one batch; resolves with one result per request, in order. */
  run(batch: readonly T[]): Promise<R[]>;
  /** Items a request carries (default 1). */
  items?(request: T): number;
  /** Requests with different keys never share a batch (default: all share). */
  key?(request: T): string;
}

/** What a batcher has done so far. */
export interface BatcherStats {
  batches: number;
  /** Requests run, over all batches. */
  requests: number;
  /** Items run, over all batches. */
  items: number;
  /** The largest batch run, in items. */
  largestBatch: number;
  /** Requests refused as busy. */
  refused: number;
  /** Items queued now. */
  queued: number;
}

interface Entry<T, R> {
  request: T;
  items: number;
  key: string;
  at: number;
  resolve(value: R): void;
  reject(err: unknown): void;
}

/** One replica's continuous batcher. */
export class ContinuousBatcher<T, R> {
  readonly #opts: BatcherOptions<T, R>;
  /** Queues by client, in the order clients first queued (the round robin's order). */
  readonly #queues = new Map<string, Entry<T, R>[]>();
  #queued = 0;
  #running = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed: Error | undefined;
  /** The client served first in the last batch: the next batch starts after it. */
  #lastFirst: string | undefined;
  /** Moving average of batch run time (ms), for retry-after estimates. */
  #batchMs = 0;
  /** Moving average of the time between submissions (ms); undefined before the second one. */
  #gapMs: number | undefined;
  #lastArrival: number | undefined;
  readonly #stats = { batches: 0, requests: 0, items: 0, largestBatch: 0, refused: 0 };

  constructor(opts: BatcherOptions<T, R>) {
    const positive = (name: string, v: number, max: number) => {
      if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new RangeError(`Cannot batch as '${name}' must be an integer from 1 to ${max}: current value is ${v}`);
    };
    positive('maxBatch', opts.maxBatch, 4096);
    positive('maxQueue', opts.maxQueue, 1_000_000);
    positive('maxPerClient', opts.maxPerClient, 1_000_000);
    if (!Number.isFinite(opts.maxWaitMs) || opts.maxWaitMs < 0 || opts.maxWaitMs > 60_000) {
      throw new RangeError(`Cannot batch as 'maxWaitMs' must be from 0 to 60000: current value is ${opts.maxWaitMs}`);
    }
    this.#opts = opts;
  }

  /** Counters and the current queue depth (items). */
  get stats(): BatcherStats {
    return { ...this.#stats, queued: this.#queued };
  }

  /** Items `client` has queued now. */
  queuedFor(client: string): number {
    let n = 0;
    for (const e of this.#queues.get(client) ?? []) n += e.items;
    return n;
  }

  /**
   * Queues a request of `client`: `{ result }` settles with its output (or the batch's error), or `{ busy }`
   * says why it was not queued. A request of more than `maxBatch` items is a caller error (RangeError).
   */
  submit(client: string, request: T): { result: Promise<R>; busy?: undefined } | { busy: Busy; result?: undefined } {
    const items = this.#opts.items?.(request) ?? 1;
    if (!Number.isSafeInteger(items) || items < 1 || items > this.#opts.maxBatch) {
      throw new RangeError(`Cannot queue a request as its items must be from 1 to maxBatch ${this.#opts.maxBatch}: current count is ${items}`);
    }
    if (this.#closed) return this.#refuse('closed');
    if (this.#queued + items > this.#opts.maxQueue) return this.#refuse('queue-full');
    if (this.queuedFor(client) + items > this.#opts.maxPerClient) return this.#refuse('client-queue-full');
    let resolve!: (value: R) => void;
    let reject!: (err: unknown) => void;
    const result = new Promise<R>((res, rej) => ((resolve = res), (reject = rej)));
    const at = performance.now();
    if (this.#lastArrival !== undefined) {
      const gap = at - this.#lastArrival;
      this.#gapMs = this.#gapMs === undefined ? gap : 0.7 * this.#gapMs + 0.3 * gap;
    }
    this.#lastArrival = at;
    const entry: Entry<T, R> = { request, items, key: this.#opts.key?.(request) ?? '', at, resolve, reject };
    let queue = this.#queues.get(client);
    if (!queue) this.#queues.set(client, (queue = []));
    queue.push(entry);
    this.#queued += items;
    this.#pump();
    return { result };
  }

  /** Refuses everything queued and anything later with `err`. Idempotent. */
  close(err: Error): void {
    if (this.#closed) return;
    this.#closed = err;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const queue of this.#queues.values()) for (const e of queue) e.reject(err);
    this.#queues.clear();
    this.#queued = 0;
  }

  /** Estimated wait (ms) before a request queued now would run: the batches ahead of it, at the measured rate. */
  retryAfterMs(): number {
    const ahead = Math.ceil((this.#queued + 1) / this.#opts.maxBatch) + (this.#running ? 1 : 0);
    return Math.max(1, Math.min(30_000, Math.round(ahead * Math.max(this.#batchMs, 1) + this.#opts.maxWaitMs)));
  }

  #refuse(reason: BusyReason): { busy: Busy } {
    this.#stats.refused++;
    return { busy: { reason, retryAfterMs: this.retryAfterMs() } };
  }

  /** Starts the next batch now, or arms the timer for when the oldest request has waited maxWaitMs. */
  #pump(): void {
    if (this.#running || this.#closed || this.#queued === 0) return;
    const wait = this.#opts.maxWaitMs - (performance.now() - this.#oldest());
    const joinersLikely = this.#gapMs === undefined || this.#gapMs < this.#opts.maxWaitMs;
    if (this.#queued < this.#opts.maxBatch && wait > 0 && joinersLikely) {
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
      }
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#runBatch(this.#take());
  }

  #oldest(): number {
    let oldest = Infinity;
    for (const queue of this.#queues.values()) if (queue[0] && queue[0].at < oldest) oldest = queue[0].at;
    return oldest;
  }

  /**
   * Takes up to maxBatch items round robin: the first client after the one served first last time opens the
   * batch (its key is the batch's), then one request per client per turn among requests of that key.
   */
  #take(): Entry<T, R>[] {
    const clients = [...this.#queues.keys()];
    const start = this.#lastFirst === undefined ? 0 : (clients.indexOf(this.#lastFirst) + 1) % clients.length;
    const order = [...clients.slice(start), ...clients.slice(0, start)];
    const batch: Entry<T, R>[] = [];
    let items = 0;
    let key: string | undefined;
    for (let progress = true; progress && items < this.#opts.maxBatch;) {
      progress = false;
      for (const client of order) {
        const queue = this.#queues.get(client);
        if (!queue) continue;
        const idx = key === undefined ? 0 : queue.findIndex((e) => e.key === key);
        const entry = idx < 0 ? undefined : queue[idx];
        if (!entry || items + entry.items > this.#opts.maxBatch) continue;
        if (key === undefined) {
          key = entry.key;
          this.#lastFirst = client;
        }
        queue.splice(idx, 1);
        if (queue.length === 0) this.#queues.delete(client);
        batch.push(entry);
        items += entry.items;
        progress = true;
        if (items >= this.#opts.maxBatch) break;
      }
    }
    this.#queued -= items;
    return batch;
  }

  async #runBatch(batch: Entry<T, R>[]): Promise<void> {
    this.#running = true;
    const started = performance.now();
    const items = batch.reduce((n, e) => n + e.items, 0);
    try {
      const results = await this.#opts.run(batch.map((e) => e.request));
      if (results.length !== batch.length) {
        throw new RangeError(`Cannot answer a batch of ${batch.length} requests with ${results.length} results`);
      }
      batch.forEach((e, i) => e.resolve(results[i]!));
    } catch (err) {
      for (const e of batch) e.reject(err);
    } finally {
      const ms = performance.now() - started;
      this.#batchMs = this.#stats.batches === 0 ? ms : 0.8 * this.#batchMs + 0.2 * ms;
      this.#stats.batches++;
      this.#stats.requests += batch.length;
      this.#stats.items += items;
      this.#stats.largestBatch = Math.max(this.#stats.largestBatch, items);
      this.#running = false;
      this.#pump();
    }
  }
}
