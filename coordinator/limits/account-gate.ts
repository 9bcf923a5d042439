/**
 * New accounts per address: each address may create ACCOUNTS_BURST accounts at once and then one every
 * 60 / ACCOUNTS_PER_MINUTE seconds, so one host cannot mint a thousand identities a second. Loopback (the
 * operator's own machine) is not limited. The table of addresses is bounded: past MAX_ADDRESSES the
 * buckets that are full again (idle senders) are dropped, then the oldest.
 */
import { isLoopback } from './network.ts';
import { TokenBucket } from './token-bucket.ts';

/** Accounts an address may create in a burst. */
export const ACCOUNTS_BURST = 10;
/** Sustained accounts per address per minute. */
export const ACCOUNTS_PER_MINUTE = 6;
/** Addresses tracked. */
export const MAX_ADDRESSES = 50_000;

/** Per-address rate limit on new accounts. */
export class AccountGate {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(private readonly perMinute = ACCOUNTS_PER_MINUTE, private readonly burst = ACCOUNTS_BURST, private readonly now?: () => number) {}

  /** Takes one new-account token for `addr`; false when the address must wait. */
  allow(addr: string): boolean {
    if (isLoopback(addr)) return true;
    let bucket = this.#buckets.get(addr);
    if (!bucket) {
      if (this.#buckets.size >= MAX_ADDRESSES) this.#prune();
      bucket = new TokenBucket(this.perMinute / 60, this.burst, this.now);
      this.#buckets.set(addr, bucket);
    }
    return bucket.take();
  }

  /** Addresses tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  #prune(): void {
    for (const [addr, b] of this.#buckets) if (b.full()) this.#buckets.delete(addr);
    while (this.#buckets.size >= MAX_ADDRESSES) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
