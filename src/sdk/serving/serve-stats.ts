/**
 * What a service handle measures: latency of each request from the caller's call to its outputs (p50, p99),
 * completions per second over the last STATS_WINDOW_MS, the replicas' queue depth as their last answers
 * reported it, the batch sizes answers ran in, and refusals and retries. Bounded: the last MAX_SAMPLES only.
 */

/** Latency samples kept. */
export const MAX_SAMPLES = 4096;
/** The window requests per second are counted over (ms). */
export const STATS_WINDOW_MS = 5_000;

/** A service handle's measurements. */
export interface ServeStats {
  /** Requests answered. */
  requests: number;
  /** Requests waiting for an answer now. */
  inFlight: number;
  /** Median and 99th percentile latency (ms) of the last MAX_SAMPLES requests; 0 before any. */
  p50Ms: number;
  p99Ms: number;
  /** Answers per second over the last STATS_WINDOW_MS (or since the first answer, if later). */
  requestsPerSec: number;
  /** Items queued at the replicas, as their last answers reported, summed. */
  queueDepth: number;
  /** Items in the batches answers ran in: mean and largest. */
  meanBatch: number;
  maxBatch: number;
  /** Answers that ran in a batch of more than one item. */
  batchedAnswers: number;
  /** 'busy' answers, and requests sent again (busy, a replica gone, a failed link). */
  busy: number;
  retries: number;
  /** Spot checks run, and those whose two answers differed beyond the tolerance. */
  spotChecks: number;
  mismatches: number;
}

/** Collects a handle's measurements. */
export class ServeStatsRecorder {
  #latencies: number[] = [];
  #times: number[] = [];
  #next = 0;
  #requests = 0;
  #batchSum = 0;
  #maxBatch = 0;
  #batched = 0;
  readonly #queued = new Map<string, number>();
  inFlight = 0;
  busy = 0;
  retries = 0;
  spotChecks = 0;
  mismatches = 0;

  /** An answer came after `ms`, from `lease`, run in a batch of `batch` items with `queued` items left there. */
  answered(ms: number, lease: string, batch: number, queued: number): void {
    if (this.#latencies.length < MAX_SAMPLES) {
      this.#latencies.push(ms);
      this.#times.push(performance.now());
    } else {
      this.#latencies[this.#next] = ms;
      this.#times[this.#next] = performance.now();
      this.#next = (this.#next + 1) % MAX_SAMPLES;
    }
    this.#requests++;
    this.#batchSum += batch;
    this.#maxBatch = Math.max(this.#maxBatch, batch);
    if (batch > 1) this.#batched++;
    this.#queued.set(lease, queued);
  }

  /** A replica is gone: its queue no longer counts. */
  forget(lease: string): void {
    this.#queued.delete(lease);
  }

  /** The measurements now. */
  snapshot(): ServeStats {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    const now = performance.now();
    const recent = this.#times.filter((t) => now - t <= STATS_WINDOW_MS);
    const span = recent.length === 0 ? 1 : Math.max(now - Math.min(...recent), 1);
    let queueDepth = 0;
    for (const q of this.#queued.values()) queueDepth += q;
    return {
      requests: this.#requests,
      inFlight: this.inFlight,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      requestsPerSec: recent.length === 0 ? 0 : (recent.length * 1000) / Math.min(STATS_WINDOW_MS, span),
      queueDepth,
      meanBatch: this.#requests === 0 ? 0 : this.#batchSum / this.#requests,
      maxBatch: this.#maxBatch,
      batchedAnswers: this.#batched,
      busy: this.busy,
      retries: this.retries,
      spotChecks: this.spotChecks,
      mismatches: this.mismatches,
    };
  }
}
