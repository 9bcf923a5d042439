/**
 * What the market learned about each contributor, from evidence only: agreements (its claimed output hash
 * equalled an independent run's), failures (outvoted by agreeing runs, or disagreeing with the arbitration
 * run of a complaint), and measured speed. A client's word alone never changes a record.
 *
 * Credibility in the sense of BOINC's adaptive replication and Sarmenta's spot-checking: a contributor with
 * fewer than TRUSTED_AGREEMENTS agreements is a newcomer whose every result is replicated; after that, a
 * result is replicated with probability TRUSTED_AGREEMENTS / agreements, never below the floor. A failure on
 * evidence resets agreements to zero; QUARANTINE_FAILURES of them keep the contributor off work for a while.
 * Agreements count only with a credible partner (or while nobody is credible yet), so newcomers cannot make
 * each other credible by agreeing on the same garbage.
 *
 * Records outlive registrations (leaving and rejoining does not wash a record) and are bounded: past
 * MAX_RECORDS the least recently seen record without agreements is forgotten first.
 */

/** Agreements after which a contributor is credible. */
export const TRUSTED_AGREEMENTS = 5;
/** Lowest replication probability of a credible contributor (spot-check floor). */
export const REPLICATION_FLOOR = 0.05;
/** Leases a contributor without paid runs may hold at once; each paid run allows one more. */
export const NEWCOMER_SLOTS = 2;

/** How much the market trusts contributors it has no record of. */
export interface TrustPolicy {
  /** Agreements before a contributor is credible (0: everyone is credible from the start). */
  trustedAgreements: number;
  /** Replication probability of a credible contributor's results, at least. */
  replicationFloor: number;
  /** Concurrent leases of a contributor without paid runs (Infinity: its declared maximum at once). */
  newcomerSlots: number;
}

/** Strangers: newcomers are replicated until they earn credibility, and start with two slots. */
export const STRANGERS: TrustPolicy = { trustedAgreements: TRUSTED_AGREEMENTS, replicationFloor: REPLICATION_FLOOR, newcomerSlots: NEWCOMER_SLOTS };
/** A private mesh of the operator's own machines: no adaptive replication, no ramp (clients' samples still run). */
export const TRUSTED: TrustPolicy = { trustedAgreements: 0, replicationFloor: 0, newcomerSlots: Infinity };
/** Evidence failures that quarantine a contributor. */
export const QUARANTINE_FAILURES = 3;
/** How long a quarantine lasts. */
export const QUARANTINE_MS = 60 * 60 * 1000;
/** Records kept. */
export const MAX_RECORDS = 200_000;

/** One contributor's track record. */
export interface CredibilityRecord {
  agreements: number;
  failures: number;
  /** Failures since the last quarantine ended. */
  recentFailures: number;
  quarantinedUntil: number;
  /** Runs paid (by any rule). */
  paid: number;
  /** Measured work units per second (moving average), once a run was claimed. */
  speed?: number;
  seen: number;
}

/**
 * What changed a record, as instances of a cluster tell each other: every instance applies the same events
 * to its copy of the records (cluster/credibility-sync.ts), so a peer judged on one instance is judged alike
 * on all.
 */
export type CredibilityEvent =
  | { kind: 'agreed'; peers: string[] }
  | { kind: 'failed'; peer: string }
  | { kind: 'paid'; peer: string }
  | { kind: 'speed'; peer: string; workUnits: number; ms: number };

/** Track records by peer id. */
export class Credibility {
  readonly #records = new Map<string, CredibilityRecord>();
  #credible = 0;
  /** Told of every changed record (the market persists it). */
  onChange: ((peerId: string, record: CredibilityRecord) => void) | undefined;
  /** Told of every event this instance judged (not of those `apply` replays). */
  onEvent: ((e: CredibilityEvent) => void) | undefined;
  #replaying = false;
  /** Told when a peer becomes credible or stops being so (the registry's index of credible contributors). */
  readonly #credibleWatchers: ((peerId: string, credible: boolean) => void)[] = [];

  constructor(readonly policy: TrustPolicy = STRANGERS, private readonly now: () => number = Date.now) {}

  /** The record of a peer (a fresh one if never seen). */
  get(peerId: string): Readonly<CredibilityRecord> {
    return this.#records.get(peerId) ?? fresh(0);
  }

  /** Whether the peer has earned credibility. */
  credible(peerId: string): boolean {
    return (this.#records.get(peerId)?.agreements ?? 0) >= this.policy.trustedAgreements;
  }

  /** Calls `fn` whenever a peer becomes credible (true) or stops being so (false). */
  watchCredible(fn: (peerId: string, credible: boolean) => void): void {
    this.#credibleWatchers.push(fn);
  }

  #credibleChanged(peerId: string, was: boolean): void {
    const now = this.credible(peerId);
    if (now !== was) for (const fn of this.#credibleWatchers) fn(peerId, now);
  }

  /** Number of credible peers on record. */
  get credibleCount(): number {
    return this.#credible;
  }

  /** Probability that a result of this peer is replicated. */
  replicationProbability(peerId: string): number {
    const a = this.#records.get(peerId)?.agreements ?? 0;
    const n = this.policy.trustedAgreements;
    if (a < n) return 1;
    return Math.max(this.policy.replicationFloor, a === 0 ? 0 : n / a);
  }

  /** A score in [0, 1] for matching: credible peers rank above newcomers, long records above short ones. */
  reputation(peerId: string): number {
    const r = this.#records.get(peerId);
    if (!r) return 0.25;
    const record = r.agreements / (r.agreements + 2 * Math.max(1, this.policy.trustedAgreements));
    return Math.max(0, Math.min(1, 0.25 + 0.75 * record - 0.2 * r.recentFailures));
  }

  /** Whether the peer is barred from new work. */
  quarantined(peerId: string): boolean {
    return (this.#records.get(peerId)?.quarantinedUntil ?? 0) > this.now();
  }

  /**
   * Runs of `peers` agreed on one output hash. Each gains an agreement when another of them was credible,
   * or when no credible peer exists at all (bootstrapping a new mesh).
   */
  agreed(peers: readonly string[]): void {
    this.onEvent?.({ kind: 'agreed', peers: [...peers] });
    this.#agreed(peers);
  }

  #agreed(peers: readonly string[]): void {
    const credibleBefore = new Set(peers.filter((p) => this.credible(p)));
    const bootstrap = this.#credible === 0 || this.policy.trustedAgreements === 0;
    for (const p of new Set(peers)) {
      const vouched = [...credibleBefore].some((q) => q !== p);
      if (!vouched && !bootstrap) continue;
      const r = this.#touch(p);
      const was = this.credible(p);
      r.agreements++;
      if (!was && this.credible(p)) this.#credible++;
      this.#credibleChanged(p, was);
    }
  }

  /** A failure on evidence: agreements reset; repeated failures quarantine. */
  failed(peerId: string): void {
    this.onEvent?.({ kind: 'failed', peer: peerId });
    this.#failed(peerId);
  }

  #failed(peerId: string): void {
    const r = this.#touch(peerId);
    const was = this.credible(peerId);
    if (was && r.agreements > 0) this.#credible--;
    r.agreements = 0;
    this.#credibleChanged(peerId, was);
    r.failures++;
    r.recentFailures++;
    if (r.recentFailures >= QUARANTINE_FAILURES) {
      r.quarantinedUntil = this.now() + QUARANTINE_MS;
      r.recentFailures = 0;
    }
  }

  /** A run of the peer was paid. */
  paid(peerId: string): void {
    this.onEvent?.({ kind: 'paid', peer: peerId });
    this.#touch(peerId).paid++;
  }

  /** Records a run's measured speed (work units per second) as a moving average. */
  recordSpeed(peerId: string, workUnits: number, ms: number): void {
    this.onEvent?.({ kind: 'speed', peer: peerId, workUnits, ms });
    this.#recordSpeed(peerId, workUnits, ms);
  }

  /**
   * Replays an event another instance judged: told neither to `onEvent` nor to `onChange` (the instance that
   * judged it stores the record; every instance writing every record multiplied the store's writes).
   */
  apply(e: CredibilityEvent): void {
    this.#replaying = true;
    try {
      if (e.kind === 'agreed') this.#agreed(e.peers);
      else if (e.kind === 'failed') this.#failed(e.peer);
      else if (e.kind === 'paid') this.#touch(e.peer).paid++;
      else this.#recordSpeed(e.peer, e.workUnits, e.ms);
    } finally {
      this.#replaying = false;
    }
  }

  #recordSpeed(peerId: string, workUnits: number, ms: number): void {
    const r = this.#touch(peerId);
    const speed = (workUnits / Math.max(ms, 1)) * 1000;
    r.speed = r.speed === undefined ? speed : r.speed * 0.8 + speed * 0.2;
  }

  /** Measured work units per second, if any run was claimed. */
  speed(peerId: string): number | undefined {
    return this.#records.get(peerId)?.speed;
  }

  /** Puts a stored record back (start-up). */
  load(peerId: string, record: CredibilityRecord): void {
    if (this.#records.size >= MAX_RECORDS) return;
    const was = this.credible(peerId);
    this.#records.set(peerId, { ...record });
    if (!was && this.credible(peerId) && record.agreements > 0) this.#credible++;
    this.#credibleChanged(peerId, was);
  }

  /** Records kept (bounded by MAX_RECORDS). */
  get size(): number {
    return this.#records.size;
  }

  #touch(peerId: string): CredibilityRecord {
    let r = this.#records.get(peerId);
    if (r) {
      // Re-insert so the map's order is least recently seen first.
      this.#records.delete(peerId);
    } else {
      r = fresh(this.now());
      if (this.#records.size >= MAX_RECORDS) this.#evict();
    }
    r.seen = this.now();
    this.#records.set(peerId, r);
    // The caller changes the record right after; tell the listener on the next microtask, with the result.
    if (this.onChange && !this.#replaying) queueMicrotask(() => this.onChange?.(peerId, r!));
    return r;
  }

  /** Forgets the least recently seen record that has nothing to lose (no agreements, no quarantine). */
  #evict(): void {
    const now = this.now();
    for (const [id, r] of this.#records) {
      if (r.agreements === 0 && r.quarantinedUntil <= now) {
        this.#records.delete(id);
        return;
      }
    }
    const [oldest, r] = this.#records.entries().next().value!;
    const was = this.credible(oldest);
    if (r.agreements > 0 && r.agreements >= this.policy.trustedAgreements) this.#credible--;
    this.#records.delete(oldest);
    this.#credibleChanged(oldest, was);
  }
}

function fresh(now: number): CredibilityRecord {
  return { agreements: 0, failures: 0, recentFailures: 0, quarantinedUntil: 0, paid: 0, seen: now };
}
