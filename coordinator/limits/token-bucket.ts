/** Per-peer message rate limit: a token bucket refilled continuously, so short bursts pass and floods do not. */

/** A token bucket of `burst` tokens refilled at `ratePerSec`. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  constructor(readonly ratePerSec: number, readonly burst: number, private readonly now: () => number = performance.now.bind(performance)) {
    if (!(ratePerSec > 0) || !(burst >= 1)) {
      throw new RangeError(`Cannot create a token bucket as rate and burst must be positive: current values are ${ratePerSec}, ${burst}`);
    }
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes one token; false when the bucket is empty (the message should be refused). */
  take(): boolean {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.ratePerSec);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
