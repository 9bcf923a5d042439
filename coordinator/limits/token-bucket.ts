/** Per-peer message rate limit: a token bucket refilled continuously, so short bursts pass and floods do not. */

/** The default clock, shared: a bound function per bucket would cost every connection ~100 bytes. */
const monotonicNow = (): number => performance.now();

/** A token bucket of `burst` tokens refilled at `ratePerSec`. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  constructor(readonly ratePerSec: number, readonly burst: number, private readonly now: () => number = monotonicNow) {
    if (!(ratePerSec > 0) || !(burst >= 1)) {
      throw new RangeError(`Cannot create a token bucket as rate and burst must be positive: current values are ${ratePerSec}, ${burst}`);
    }
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes `n` tokens (default one); false when the bucket holds fewer (the message should be refused). */
  take(n = 1): boolean {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#last) / 1000) * this.ratePerSec);
    this.#last = t;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }

  /** Whether the bucket is full again (an idle sender: its bucket can be dropped without loss). */
  full(): boolean {
    const t = this.now();
    return this.#tokens + ((t - this.#last) / 1000) * this.ratePerSec >= this.burst;
  }
}
