/**
 * Registry of contributors: what each can do (measured capabilities), what it asks, how much it may run at
 * once, whether it is taking work, where it connects from, and the runs it holds. Its track record lives in
 * credibility.ts, keyed by peer id, so leaving and rejoining does not wash it.
 *
 * Capacity: a contributor's `load` counts its leases until they are claimed and, once claimed, for a short
 * hold (market.ts CLAIM_HOLD_MS) or until the run is paid, so a peer that claims at once with a made-up hash
 * cannot hoard shards. Unpaid claims (claimed or contested, not yet paid or rejected) are capped per contributor, and a
 * newcomer's capacity ramps up with its paid runs (NEWCOMER_SLOTS + paid runs, up to what it declared), so
 * declaring maxConcurrent 64 and never finishing holds two shards, not sixty-four.
 */
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import type { MatchContributor } from '../../src/core/matcher.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { TokenBucket } from '../limits/token-bucket.ts';
import type { Credibility } from './credibility.ts';
import type { StoredContributor } from '../store/types.ts';

/** Unpaid claims a contributor may have at once: this many times its capacity, at least MIN_UNPAID. */
export const UNPAID_PER_SLOT = 4;
/** Lower bound of the unpaid-claims cap. */
export const MIN_UNPAID = 8;
/** State changes (pause/resume) a contributor may make per second, sustained; each one costs a matching round. */
export const STATE_CHANGES_PER_SEC = 2;

/** A registered contributor. */
export interface Contributor {
  peerId: string;
  caps: Capabilities;
  askPrice: number;
  maxConcurrent: number;
  state: 'active' | 'paused';
  /** Network key of its address (grants, limits). */
  network: string;
  /** Key verifier placement keeps apart (see limits/network.ts placementKey). */
  placement: string;
  /** Lease ids counting against its capacity. */
  load: Set<string>;
  /** Lease ids claimed or contested, not yet paid or rejected. */
  unpaid: Set<string>;
  registeredAt: number;
  stateChanges: TokenBucket;
  /**
   * Cluster: the instance holding its session when that is another one. `load` and `unpaid` then count only
   * this instance's runs, and `reported` what its home last said of all its runs (see `busy`).
   */
  home?: string;
  reported?: { load: number; unpaid: number };
}

/** Leases counting against a contributor's capacity, and its unpaid claims, on every instance it works for. */
export function busy(c: Contributor): { load: number; unpaid: number } {
  const r = c.reported;
  if (!r) return { load: c.load.size, unpaid: c.unpaid.size };
  return { load: Math.max(c.load.size, r.load), unpaid: Math.max(c.unpaid.size, r.unpaid) };
}

/** A contributor as its home instance describes it to the others (cluster/contributor-sync.ts): its stored row
 * and how busy it is (leases counting against capacity, unpaid claims). */
export interface RemoteRow extends StoredContributor {
  load: number;
  unpaid: number;
}

/** Contributors by peer id. */
export class ContributorRegistry {
  readonly #byId = new Map<string, Contributor>();
  /**
   * Index: active contributors, and those of them that are credible. Kept on register, state change, unregister
   * and credibility change, so "could anyone (credible) take this run" looks at candidates only, not at every
   * registered peer (matching.ts runs that check for each verifier run of a round).
   */
  readonly #active = new Set<Contributor>();
  readonly #credibleActive = new Set<Contributor>();

  constructor(readonly credibility: Credibility) {
    credibility.watchCredible((peerId) => {
      const c = this.#byId.get(peerId);
      if (c) this.#reindex(c);
    });
  }

  #reindex(c: Contributor): void {
    const active = c.state === 'active' && this.#byId.get(c.peerId) === c;
    if (active) this.#active.add(c);
    else this.#active.delete(c);
    if (active && this.credibility.credible(c.peerId)) this.#credibleActive.add(c);
    else this.#credibleActive.delete(c);
  }

  /**
   * Registers or updates a contributor another instance serves (cluster); an update keeps this instance's runs.
   * A registration older than the one held is ignored (the peer moved since): undefined.
   */
  registerRemote(row: RemoteRow): { c: Contributor; created: boolean } | undefined {
    const existing = this.#byId.get(row.peerId);
    if (existing && existing.registeredAt > row.registeredAt) return undefined;
    const c = existing ?? this.register(row.peerId, row.caps, row.askPrice, row.maxConcurrent, row.network, row.placement);
    Object.assign(c, { caps: row.caps, askPrice: row.askPrice, maxConcurrent: row.maxConcurrent, network: row.network, placement: row.placement });
    c.state = row.state;
    this.#reindex(c);
    c.registeredAt = row.registeredAt;
    c.home = row.home;
    c.reported = { load: row.load, unpaid: row.unpaid };
    return { c, created: existing === undefined };
  }

  /** Registers or updates a contributor; an update keeps its runs and record. */
  register(peerId: string, caps: Capabilities, askPrice: number, maxConcurrent: number, network: string, placement: string): Contributor {
    const existing = this.#byId.get(peerId);
    if (existing) {
      Object.assign(existing, { caps, askPrice, maxConcurrent, network, placement });
      // It (re)registered here: this instance serves it now.
      if (existing.home !== undefined) {
        delete existing.home;
        delete existing.reported;
        existing.registeredAt = Date.now();
      }
      return existing;
    }
    const c: Contributor = {
      peerId,
      caps,
      askPrice,
      maxConcurrent,
      state: 'active',
      network,
      placement,
      load: new Set(),
      unpaid: new Set(),
      registeredAt: Date.now(),
      stateChanges: new TokenBucket(STATE_CHANGES_PER_SEC, 4),
    };
    this.#byId.set(peerId, c);
    this.#reindex(c);
    return c;
  }

  /** Sets a contributor's state; throws when it changes state faster than STATE_CHANGES_PER_SEC. */
  setState(c: Contributor, state: 'active' | 'paused'): void {
    if (c.state === state) return;
    if (!c.stateChanges.take()) {
      throw new MeshError('rate-limited', `Cannot change state more than ${STATE_CHANGES_PER_SEC} times per second: current state is ${c.state}`);
    }
    c.state = state;
    this.#reindex(c);
  }

  /** Sets a contributor's state without the rate limit: the coordinator's own decision (circuit breaker). */
  force(c: Contributor, state: 'active' | 'paused'): void {
    c.state = state;
    this.#reindex(c);
  }

  /** Removes a contributor; returns it (with its runs) so the caller can release them. */
  unregister(peerId: string): Contributor | undefined {
    const c = this.#byId.get(peerId);
    this.#byId.delete(peerId);
    if (c) this.#reindex(c);
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
    return this.#active.size;
  }

  /** Active contributors (credible ones only when `credibleOnly`), whatever their load: a live view. */
  taking(credibleOnly = false): ReadonlySet<Contributor> {
    return credibleOnly ? this.#credibleActive : this.#active;
  }

  /** How many leases a contributor may hold now: its declared maximum, ramped up by its paid runs. */
  capacity(c: Contributor): number {
    return Math.min(c.maxConcurrent, this.credibility.policy.newcomerSlots + this.credibility.get(c.peerId).paid);
  }

  /** The cap on a contributor's unpaid claims (from its current capacity, not what it declared). */
  unpaidCap(c: Contributor): number {
    return Math.max(MIN_UNPAID, UNPAID_PER_SLOT * this.capacity(c));
  }

  /** Active, unquarantined contributors with free capacity, as the matcher wants them. */
  forMatching(): MatchContributor[] {
    const out: MatchContributor[] = [];
    const cred = this.credibility;
    for (const c of this.#byId.values()) {
      const capacity = this.capacity(c);
      const { load, unpaid } = busy(c);
      if (c.state !== 'active' || load >= capacity || unpaid >= this.unpaidCap(c)) continue;
      if (cred.quarantined(c.peerId)) continue;
      const m: MatchContributor = {
        peerId: c.peerId,
        caps: c.caps,
        askPrice: c.askPrice,
        maxConcurrent: capacity,
        load,
        reputation: cred.reputation(c.peerId),
        network: c.placement,
        credible: cred.credible(c.peerId),
      };
      const speed = cred.speed(c.peerId);
      if (speed !== undefined) m.speed = speed;
      out.push(m);
    }
    return out;
  }

  /** Every contributor (for stats and eligibility checks). */
  all(): IterableIterator<Contributor> {
    return this.#byId.values();
  }
}
