/**
 * The home side of runs of other instances' jobs: leases that another instance (the job's owner) gave to a
 * contributor this instance serves. The home decides whether its contributor takes one (capacity is counted
 * in one place, the home, whoever owns the jobs), delivers it, counts it against the contributor until the
 * owner says the run left flight, and remembers the owner so the contributor's claim reaches it.
 *
 * Counting follows the market's rules (market/contributors.ts): a lease counts against capacity until it is
 * claimed and then for CLAIM_HOLD_MS; a claim counts against the unpaid cap until its run ends. A message of
 * the owner lost on the bus cannot pin a contributor forever: an unclaimed lease stops counting when it
 * expires, a claim after UNPAID_TTL_MS.
 */
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import type { ContributorRegistry } from '../market/contributors.ts';
import type { Job, Run } from '../market/job.ts';

/** Longest a claim of another instance's job counts against its contributor's unpaid cap without news of its end. */
export const UNPAID_TTL_MS = 15 * 60_000;

type AssignFrame = Extract<ServerFrame, { type: 'assign' }>;

interface HomeLease {
  jobId: string;
  /** The owning instance ('' when unknown: looked up in the store when needed). */
  owner: string;
  contributor: string;
  claimed: boolean;
  timer?: ReturnType<typeof setTimeout>;
  hold?: ReturnType<typeof setTimeout>;
}

/** What the home side needs. */
export interface HomeLeaseDeps {
  registry: ContributorRegistry;
  /** Sends a frame to a local peer's session; false when it has none. */
  send(peerId: string, frame: ServerFrame): boolean;
  /** Capacity freed: the local market may look for work. */
  schedule(): void;
  claimHoldMs: number;
}

/** Leases of local contributors owned by other instances. */
export class HomeLeases {
  readonly #leases = new Map<string, HomeLease>();

  constructor(private readonly d: HomeLeaseDeps) {}

  get size(): number {
    return this.#leases.size;
  }

  /** The owner of a lease this home knows ('' when unknown, undefined when not known at all). */
  ownerOf(leaseId: string): string | undefined {
    return this.#leases.get(leaseId)?.owner;
  }

  /** An owner's lease for a local contributor: counted and delivered, or the reason it is declined. */
  accept(owner: string, frame: AssignFrame): string | undefined {
    const { lease } = frame;
    const c = this.d.registry.get(lease.contributor);
    if (!c || c.home !== undefined) return 'contributor is not served here';
    if (this.#leases.has(lease.leaseId) || c.load.has(lease.leaseId)) return 'lease already known';
    if (c.state !== 'active') return 'contributor paused';
    if (c.load.size >= this.d.registry.capacity(c)) return 'contributor at capacity';
    if (c.unpaid.size >= this.d.registry.unpaidCap(c)) return 'contributor has too many unpaid claims';
    if (this.d.registry.credibility.quarantined(c.peerId)) return 'contributor quarantined';
    if (!this.d.send(c.peerId, frame)) return 'contributor unreachable';
    c.load.add(lease.leaseId);
    const e: HomeLease = { jobId: lease.jobId, owner, contributor: c.peerId, claimed: false };
    e.timer = setTimeout(() => this.#end(lease.leaseId), Math.max(0, lease.expiresAt - Date.now()));
    this.#leases.set(lease.leaseId, e);
    return undefined;
  }

  /** The owner accepted a claim of a local contributor (a lease known here or not): it now counts as unpaid. */
  claimed(leaseId: string, jobId: string, owner: string, contributor: string): void {
    let e = this.#leases.get(leaseId);
    const c = this.d.registry.get(contributor);
    if (!e) {
      if (!c || c.home !== undefined) return;
      e = { jobId, owner, contributor, claimed: false };
      this.#leases.set(leaseId, e);
    }
    e.owner = owner;
    if (e.claimed) return;
    e.claimed = true;
    c?.unpaid.add(leaseId);
    clearTimeout(e.timer);
    e.hold = setTimeout(() => {
      delete e!.hold;
      if (c?.load.delete(leaseId)) this.d.schedule();
    }, this.d.claimHoldMs);
    e.timer = setTimeout(() => this.#end(leaseId), UNPAID_TTL_MS);
  }

  /** The owner says these runs left flight. */
  ended(leaseIds: readonly string[]): void {
    for (const id of leaseIds) this.#end(id);
  }

  /** A job changed owner: its leases here follow it. */
  moved(jobId: string, owner: string): void {
    for (const e of this.#leases.values()) if (e.jobId === jobId) e.owner = owner;
  }

  /**
   * This instance took over a job: its market counts the runs now, so they stop being home leases (their
   * contributors' counts stay: the market's adopt counts the same lease ids).
   */
  adopted(job: Job): void {
    for (const s of job.shards) {
      for (const r of s.runs) {
        const e = this.#leases.get(r.lease.leaseId);
        if (!e) continue;
        clearTimeout(e.timer);
        clearTimeout(e.hold);
        this.#leases.delete(r.lease.leaseId);
      }
    }
  }

  /** A job this instance ran moved to `owner` ('' unknown): its runs of local contributors become home leases. */
  fromMarket(job: Job, runs: readonly Run[], owner: string): void {
    for (const r of runs) {
      const c = this.d.registry.get(r.lease.contributor);
      if (!c || c.home !== undefined) continue;
      const e: HomeLease = { jobId: job.jobId, owner, contributor: c.peerId, claimed: false };
      this.#leases.set(r.lease.leaseId, e);
      if (r.state === 'leased') e.timer = setTimeout(() => this.#end(r.lease.leaseId), Math.max(0, r.lease.expiresAt - Date.now()));
      else this.claimed(r.lease.leaseId, job.jobId, owner, c.peerId);
    }
  }

  /** A local contributor left: its home leases go (the owners hear it left and release them). */
  contributorGone(peerId: string): void {
    for (const [id, e] of this.#leases) {
      if (e.contributor !== peerId) continue;
      clearTimeout(e.timer);
      clearTimeout(e.hold);
      this.#leases.delete(id);
    }
  }

  /** Stops timers (shutdown). */
  close(): void {
    for (const e of this.#leases.values()) {
      clearTimeout(e.timer);
      clearTimeout(e.hold);
    }
    this.#leases.clear();
  }

  #end(leaseId: string): void {
    const e = this.#leases.get(leaseId);
    if (!e) return;
    clearTimeout(e.timer);
    clearTimeout(e.hold);
    this.#leases.delete(leaseId);
    const c = this.d.registry.get(e.contributor);
    if (!c || c.home !== undefined) return;
    c.unpaid.delete(leaseId);
    if (c.load.delete(leaseId)) this.d.schedule();
  }
}
