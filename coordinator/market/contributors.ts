/**
 * Registry of contributors: what each can do (measured capabilities), what it asks, how much it may run at
 * once, whether it is taking work, and what we learned about it (reputation, measured speed). Reputation and
 * speed are kept per peer id across re-registrations in this process, so leaving and rejoining does not wash
 * a bad record.
 */
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import type { MatchContributor } from '../../src/core/matcher.ts';

/** Reputation of a peer never seen before. */
export const INITIAL_REPUTATION = 0.5;
/** Below this, a contributor's primary runs are replicated when the job's escrow allows (adaptive replication). */
export const LOW_REPUTATION = 0.3;

/** A registered contributor. */
export interface Contributor {
  peerId: string;
  caps: Capabilities;
  askPrice: number;
  maxConcurrent: number;
  state: 'active' | 'paused';
  /** Lease ids it is working on (claimed leases no longer count: the work is done). */
  leases: Set<string>;
  registeredAt: number;
}

/** How bad a rejected run was. */
export type Penalty = 'mild' | 'severe';

/** Contributors by peer id, plus their track record. */
export class ContributorRegistry {
  #byId = new Map<string, Contributor>();
  #reputation = new Map<string, number>();
  #speed = new Map<string, number>();

  /** Registers or updates a contributor; an update keeps its leases and record. */
  register(peerId: string, caps: Capabilities, askPrice: number, maxConcurrent: number): Contributor {
    const existing = this.#byId.get(peerId);
    if (existing) {
      Object.assign(existing, { caps, askPrice, maxConcurrent });
      return existing;
    }
    const c: Contributor = { peerId, caps, askPrice, maxConcurrent, state: 'active', leases: new Set(), registeredAt: Date.now() };
    this.#byId.set(peerId, c);
    return c;
  }

  /** Removes a contributor; returns it (with its leases) so the caller can release them. */
  unregister(peerId: string): Contributor | undefined {
    const c = this.#byId.get(peerId);
    this.#byId.delete(peerId);
    return c;
  }

  /** The contributor, if registered. */
  get(peerId: string): Contributor | undefined {
    return this.#byId.get(peerId);
  }

  /** Registered contributors. */
  get size(): number {
    return this.#byId.size;
  }

  /** Contributors taking work. */
  get active(): number {
    let n = 0;
    for (const c of this.#byId.values()) if (c.state === 'active') n++;
    return n;
  }

  /** Reputation in [0, 1]. */
  reputation(peerId: string): number {
    return this.#reputation.get(peerId) ?? INITIAL_REPUTATION;
  }

  /** A paid run: reputation climbs slowly towards 1. */
  reward(peerId: string): void {
    const r = this.reputation(peerId);
    this.#reputation.set(peerId, r + (1 - r) * 0.05);
  }

  /** A rejected run: a wrong result halves reputation; a failed transfer costs a little. */
  penalize(peerId: string, penalty: Penalty): void {
    const r = this.reputation(peerId);
    this.#reputation.set(peerId, penalty === 'severe' ? r * 0.5 : r * 0.9);
  }

  /** Records a run's speed (work units per second), as an exponential moving average. */
  recordSpeed(peerId: string, workUnits: number, ms: number): void {
    const speed = workUnits / Math.max(ms, 1) * 1000;
    const prev = this.#speed.get(peerId);
    this.#speed.set(peerId, prev === undefined ? speed : prev * 0.8 + speed * 0.2);
  }

  /** Measured work units per second, if any run finished. */
  speed(peerId: string): number | undefined {
    return this.#speed.get(peerId);
  }

  /** Active contributors with free capacity, as the matcher wants them. */
  forMatching(): MatchContributor[] {
    const out: MatchContributor[] = [];
    for (const c of this.#byId.values()) {
      if (c.state !== 'active' || c.leases.size >= c.maxConcurrent) continue;
      out.push({
        peerId: c.peerId,
        caps: c.caps,
        askPrice: c.askPrice,
        maxConcurrent: c.maxConcurrent,
        load: c.leases.size,
        reputation: this.reputation(c.peerId),
      });
    }
    return out;
  }

  /** Every contributor (for stats). */
  all(): IterableIterator<Contributor> {
    return this.#byId.values();
  }
}
