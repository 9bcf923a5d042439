/**
 * The simulated mesh around the REAL market (coordinator/market/market.ts `Market`, with its matcher,
 * verification and an in-memory Deno KV ledger): peers get leases through `notify`, compute them in virtual
 * time and claim; clients pay on receipt when outputs arrive; peers churn. Every call into the market, and
 * every market timer the clock fires, is timed with the real clock (`cpuMs`). The ledger's I/O runs off
 * the JS thread; the sim waits for it before moving virtual time on, and that wait is `ledgerMs` (the time
 * the coordinator's thread would block on the ledger if nothing else overlapped it: an upper bound).
 */
import type { ServerFrame, ContributorLease } from '../../src/protocol/coordinator.ts';
import type { Ledger } from '../../coordinator/ledger/types.ts';
import type { Market } from '../../coordinator/market/market.ts';
import { capsOf, drawPeer, type SimPeer } from './peers.ts';
import { realNow, realSetTimeout, type VirtualClock } from './clock.ts';

/** Per-shard transfer and the clients' own link. */
export interface MeshShape {
  inBytes: number;
  outBytes: number;
  clientRttMs: number;
  churnPerHour: number;
  workUnits: number;
}

interface Running {
  peer: SimPeer;
  lease: ContributorLease;
  cancelled: boolean;
}

/** Counters the report reads. */
export interface MeshStats {
  assigns: number;
  claims: number;
  receipts: number;
  settled: number;
  revokes: number;
  joins: number;
  leaves: number;
  cpuMs: number;
  ledgerMs: number;
  ledgerOps: number;
  workDone: number;
}

/** Drives peers and clients against the market. */
export class SimMesh {
  readonly peers = new Map<string, SimPeer>();
  readonly stats: MeshStats = { assigns: 0, claims: 0, receipts: 0, settled: 0, revokes: 0, joins: 0, leaves: 0, cpuMs: 0, ledgerMs: 0, ledgerOps: 0, workDone: 0 };
  readonly jobDone = new Map<string, number>();
  market!: Market;
  readonly #runs = new Map<string, Running>();
  readonly #pending = new Set<Promise<unknown>>();
  #nextPeer = 0;
  #wake: (() => void) | undefined;

  constructor(readonly clock: VirtualClock, readonly rand: () => number, readonly shape: MeshShape) {}

  /** Times a synchronous call into the market. */
  timed<T>(fn: () => T): T {
    const t0 = realNow();
    try {
      return fn();
    } finally {
      this.stats.cpuMs += realNow() - t0;
    }
  }

  /** Tracks a promise the virtual clock must wait for before moving on (ledger I/O, hashing). */
  track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    const done = () => {
      this.#pending.delete(p);
      this.#wake?.();
    };
    p.then(done, done);
    return p;
  }

  /** A ledger whose calls are tracked and timed. */
  wrapLedger(ledger: Ledger): Ledger {
    return new Proxy(ledger, {
      get: (target, key) => {
        const v = Reflect.get(target, key);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const out = v.apply(target, args);
          if (!(out instanceof Promise)) return out;
          this.stats.ledgerOps++;
          return this.track(out);
        };
      },
    });
  }

  /** Waits until no tracked promise is pending, or one real ms passes without progress (it may wait on a timer). */
  async settle(): Promise<void> {
    if (this.#pending.size === 0) return;
    const t0 = realNow();
    try {
      await this.#drain();
    } finally {
      this.stats.ledgerMs += realNow() - t0;
    }
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const before = this.#pending.size;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        realSetTimeout(resolve, 1);
      });
      this.#wake = undefined;
      if (this.#pending.size >= before) return;
    }
  }

  /** The market's notify: leases start running on their peer; revokes stop them. */
  notify = (peerId: string, frame: ServerFrame): boolean => {
    const peer = this.peers.get(peerId);
    if (frame.type === 'assign') {
      if (!peer) return false;
      this.stats.assigns++;
      this.#start(peer, frame.lease);
      return true;
    }
    if (frame.type === 'revoke') {
      const r = this.#runs.get(frame.leaseId);
      if (r) {
        r.cancelled = true;
        this.#runs.delete(frame.leaseId);
        this.stats.revokes++;
      }
      return peer !== undefined;
    }
    if (frame.type === 'job' && frame.status.state !== 'running') this.jobDone.set(frame.status.jobId, this.clock.now);
    return true;
  };

  /** A new peer joins and registers. */
  join(): SimPeer {
    const p = drawPeer(this.#nextPeer++, this.clock.now, this.rand, this.shape.churnPerHour);
    this.peers.set(p.id, p);
    this.stats.joins++;
    this.track(this.market.deps.ledger.ensureAccount(p.id));
    this.timed(() => this.market.register(p.id, { caps: capsOf(p), askPrice: 1, maxConcurrent: 2 }, p.network));
    if (Number.isFinite(p.leavesAt)) this.clock.setTimeout(() => this.#leave(p), p.leavesAt - this.clock.now);
    return p;
  }

  /** Work units per second of the peers online now. */
  totalSpeed(): number {
    let v = 0;
    for (const p of this.peers.values()) v += p.speed;
    return v;
  }

  #leave(p: SimPeer): void {
    if (!this.peers.delete(p.id)) return;
    this.stats.leaves++;
    for (const [id, r] of this.#runs) {
      if (r.peer !== p) continue;
      r.cancelled = true;
      this.#runs.delete(id);
    }
    this.timed(() => this.market.contributorLeft(p.id));
    this.join();
  }

  #start(peer: SimPeer, lease: ContributorLease): void {
    const s = this.shape;
    const now = this.clock.now;
    const r: Running = { peer, lease, cancelled: false };
    this.#runs.set(lease.leaseId, r);
    // The assign reaches the peer, it connects to the client, the inputs arrive; one lease computes at a time,
    // the next one's inputs move while the current one computes.
    const inputsAt = now + peer.rttMs / 2 + peer.rttMs + (s.inBytes * 8) / (peer.downBps * 8) * 1000;
    const start = Math.max(inputsAt, peer.busyUntil);
    const end = start + (s.workUnits / peer.speed) * 1000;
    peer.busyUntil = end;
    const claimAt = end + peer.rttMs / 2;
    this.clock.setTimeout(() => {
      if (r.cancelled || !this.peers.has(peer.id)) return;
      this.#runs.delete(lease.leaseId);
      this.stats.claims++;
      this.stats.workDone += s.workUnits;
      const hash = `h${lease.jobId}:${lease.shard}`;
      const claimed = this.timed(() => this.market.claim(peer.id, { leaseId: lease.leaseId, jobId: lease.jobId, shard: lease.shard, outputHash: hash }, 'sig'));
      this.track(claimed.catch(() => undefined));
      // The outputs reach the client, which signs a receipt.
      const receiptIn = peer.rttMs / 2 + (s.outBytes / peer.upBps) * 1000 + s.clientRttMs / 2;
      this.clock.setTimeout(() => this.#receipt(lease, hash), receiptIn);
    }, claimAt - now);
  }

  #receipt(lease: ContributorLease, hash: string): void {
    this.stats.receipts++;
    const receipt = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, contributor: lease.contributor, outputHash: hash, workUnits: this.shape.workUnits };
    const paid = this.timed(() => this.market.receipt(lease.client, receipt, 'sig'));
    this.track(paid.then((r) => void (r.paid && this.stats.settled++), () => undefined));
  }
}
