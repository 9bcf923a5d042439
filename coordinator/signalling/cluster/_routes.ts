/**
 * Where peers are, as far as this instance knows: a short-lived cache of directory answers and `opened`
 * announcements, and the lookups in flight. Frames for one destination wait behind its lookup and are
 * released in arrival order, so relaying never reorders an OFFER and its CANDIDATEs. Only positive answers
 * are cached (a peer that is nowhere may connect any moment); a stale entry costs one extra relay hop, since
 * the instance that no longer holds the peer looks it up again. Everything here is bounded.
 */

/** How long a cached location is used at most (the link passes the heartbeat period when shorter, so a
 * crashed instance is routed to at most one heartbeat beyond the directory's TTL), and how many are kept. */
export const ROUTE_TTL_MS = 5_000;
const MAX_ROUTES = 10_000;
/** Frames waiting for lookups: per destination, and in all. */
const WAITING_PER_DST = 256;
const WAITING_TOTAL = 10_000;

/** Told where a frame's destination is: an instance, or null (nowhere, or the lookup failed with `err`). */
export type Resolved = (instance: string | null, err?: Error) => void;

/** The route cache and the lookups in flight. */
export class RouteCache {
  readonly #routes = new Map<string, { instance: string; at: number }>();
  readonly #waiting = new Map<string, Resolved[]>();
  #waitingTotal = 0;

  constructor(
    private readonly lookup: (peer: string) => Promise<string | null>,
    private readonly ttlMs = ROUTE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Frames waiting for lookups. */
  get waiting(): number {
    return this.#waitingTotal;
  }

  /** Calls `done` once the location of `dst` is known (at once on a fresh cache entry); false when too many wait. */
  resolve(dst: string, done: Resolved): boolean {
    const waiting = this.#waiting.get(dst);
    if (waiting) {
      if (waiting.length >= WAITING_PER_DST || this.#waitingTotal >= WAITING_TOTAL) return false;
      waiting.push(done);
      this.#waitingTotal++;
      return true;
    }
    const hit = this.#routes.get(dst);
    if (hit && this.now() - hit.at < this.ttlMs) {
      done(hit.instance);
      return true;
    }
    if (hit) this.#routes.delete(dst);
    if (this.#waitingTotal >= WAITING_TOTAL) return false;
    const list = [done];
    this.#waiting.set(dst, list);
    this.#waitingTotal++;
    this.lookup(dst).then(
      (instance) => this.#settle(dst, list, instance),
      (err: Error) => this.#settle(dst, list, null, err),
    );
    return true;
  }

  /** An announcement or answer: `peer` is on `instance`. */
  learn(peer: string, instance: string): void {
    this.#routes.delete(peer);
    this.#routes.set(peer, { instance, at: this.now() });
    if (this.#routes.size > MAX_ROUTES) this.#routes.delete(this.#routes.keys().next().value!);
  }

  /** `peer` left `instance`: forget the route if it points there. */
  forget(peer: string, instance: string): void {
    if (this.#routes.get(peer)?.instance === instance) this.#routes.delete(peer);
  }

  #settle(dst: string, list: Resolved[], instance: string | null, err?: Error): void {
    if (this.#waiting.get(dst) === list) this.#waiting.delete(dst);
    this.#waitingTotal -= list.length;
    if (instance !== null) this.learn(dst, instance);
    for (const done of list) done(instance, err);
  }
}
