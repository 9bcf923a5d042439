/**
 * Round-trip times peers measured to each other (the `rtt` frame), kept per reporter and bounded.
 *
 * Trust: one side's word never counts alone. A pair's round trip is known only once both peers reported it, and
 * it is the larger of the two reports: a contributor cannot claim to be close to win latency-tier work (the
 * client's own measurement caps it), and a client can only push a contributor out of its own jobs, which it
 * could do by not submitting them. A report about a peer never connected to has no effect, since that peer
 * never reports back; reports about oneself are refused.
 *
 * Bounds: at most MAX_PEERS_PER_REPORTER entries per reporter (the oldest report is dropped first) and at most
 * MAX_REPORTERS reporters (the oldest reporter is dropped first); a reporter's entries go when its session ends.
 */
import { MeshError } from '../../src/protocol/errors.ts';
import { MAX_RTT_MS } from '../../src/protocol/coordinator.ts';

/** Peers one reporter's round trips are kept for. */
export const MAX_PEERS_PER_REPORTER = 256;
/** Reporters kept at once. */
export const MAX_REPORTERS = 100_000;

/** The round-trip book. */
export class RttBook {
  readonly #by = new Map<string, Map<string, number>>();

  constructor(readonly maxPeers = MAX_PEERS_PER_REPORTER, readonly maxReporters = MAX_REPORTERS) {}

  /** Records `reporter`'s measured round trip to `peer`. */
  report(reporter: string, peer: string, ms: number): { recorded: true } {
    if (peer === reporter) throw new MeshError('invalid-message', `Cannot record a round trip to ${peer} as it is the reporter itself`);
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_RTT_MS) {
      throw new MeshError('invalid-message', `Cannot record a round trip as 'ms' must be in [0, ${MAX_RTT_MS}]: current value is ${ms}`);
    }
    let mine = this.#by.get(reporter);
    if (!mine) {
      if (this.#by.size >= this.maxReporters) this.#by.delete(this.#by.keys().next().value!);
      mine = new Map();
      this.#by.set(reporter, mine);
    }
    mine.delete(peer); // re-inserted as the newest
    mine.set(peer, ms);
    if (mine.size > this.maxPeers) mine.delete(mine.keys().next().value!);
    return { recorded: true };
  }

  /** The confirmed round trip between `a` and `b` (both reported it): the larger report; undefined otherwise. */
  pair(a: string, b: string): number | undefined {
    const ab = this.#by.get(a)?.get(b);
    const ba = ab === undefined ? undefined : this.#by.get(b)?.get(a);
    return ab === undefined || ba === undefined ? undefined : Math.max(ab, ba);
  }

  /** Every confirmed round trip from `peer`, by the other peer's id (at most MAX_PEERS_PER_REPORTER). */
  confirmed(peer: string): Map<string, number> | undefined {
    const mine = this.#by.get(peer);
    if (!mine) return undefined;
    const out = new Map<string, number>();
    for (const [other, ms] of mine) {
      const back = this.#by.get(other)?.get(peer);
      if (back !== undefined) out.set(other, Math.max(ms, back));
    }
    return out.size > 0 ? out : undefined;
  }

  /** Entries kept for `reporter` (tests and metrics). */
  sizeOf(reporter: string): number {
    return this.#by.get(reporter)?.size ?? 0;
  }

  /** Forgets what `reporter` said (its session ended). */
  forget(reporter: string): void {
    this.#by.delete(reporter);
  }
}
