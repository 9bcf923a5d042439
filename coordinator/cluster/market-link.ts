/**
 * The market's side of a cluster: one object per instance that joins the local market to the others through
 * the bus and the shared store.
 *
 * - Contributors: this instance's are published (contributor-sync.ts); the others' sit in the local registry
 *   with their home, so local jobs use them. A lease for a remote contributor travels to its home as an
 *   `assign` frame; the home counts and delivers it or declines it (home-leases.ts), and the owner releases a
 *   declined lease. The contributor's claim reaches its home, which forwards it to the job's owner. When a run
 *   leaves flight the owner tells the home (`ended`), so the contributor's capacity frees.
 * - Frames: a frame for a peer with no session here goes to its home when it is a known remote contributor.
 *   Clients' frames stay local: a job lives where its client is (ownership.ts moves it when the client moves).
 * - Track records: every judged event is broadcast and replayed everywhere (market/credibility.ts).
 * - Jobs: ownership.ts (heartbeats, handover on client arrival, orphan sweeps).
 */
import { type ClientFrameOf, parseClientFrame, type ResultClaim, type ServerFrame } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { Bus, BusMessage, BusSubscription } from '../bus/index.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { CredibilityEvent } from '../market/credibility.ts';
import type { Job, Run } from '../market/job.ts';
import { CLAIM_HOLD_MS, type Market, type MarketClusterHooks } from '../market/market.ts';
import type { MarketStore } from '../store/types.ts';
import { ContributorSync } from './contributor-sync.ts';
import { HomeLeases } from './home-leases.ts';
import {
  CONTRIB_SUBJECT,
  CRED_SUBJECT,
  type CredMsg,
  type DeclinedMsg,
  type DirectMsg,
  type EndedMsg,
  instanceSubject,
  JOBS_SUBJECT,
  type MovedMsg,
  readContrib,
  readCred,
  readDirect,
  readMoved,
} from './messages.ts';
import { Ownership, type OwnershipTiming } from './ownership.ts';
import { Rpc } from './rpc.ts';

/** How long a forwarded claim waits for the owner's answer. */
export const CLAIM_TIMEOUT_MS = 5_000;
/** How often batched notices (ends of runs, track record events) go out. */
export const BATCH_MS = 10;
/** Production liveness: an instance silent 6 s is dead; orphans are looked for every 2 s. */
export const DEFAULT_OWNERSHIP_TIMING: Omit<OwnershipTiming, 'clientGraceMs'> = { heartbeatMs: 1_000, ttlMs: 6_000, sweepMs: 2_000, contributorGraceMs: 15_000 };

/** What the link needs. */
export interface MarketLinkOptions {
  me: string;
  /** Where peers reach this instance (known once it listens). */
  url: () => string;
  bus: Bus;
  store: MarketStore;
  market: Market;
  log: Logger;
  metrics: Metrics;
  timing: OwnershipTiming;
  /** Sends a frame to a local session; false when the peer has none here. */
  sendLocal(peerId: string, frame: ServerFrame): boolean;
  /** Whether a peer has a mesh session here. */
  isLocal(peerId: string): boolean;
}

/** Run ends and track record events per bus message. */
const PER_MESSAGE = 1_000;

/** The market's link to the other instances. */
export class MarketLink implements MarketClusterHooks {
  readonly ownership: Ownership;
  readonly homeLeases: HomeLeases;
  readonly #rpc: Rpc;
  readonly #contributors: ContributorSync;
  readonly #subs: BusSubscription[] = [];
  readonly #ended = new Map<string, string[]>();
  /** Forwarded claims waiting for their owner's answer, by job (bounded by the rpc's waiting requests). */
  readonly #claimsByJob = new Map<string, Set<AbortController>>();
  #events: CredibilityEvent[] = [];
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(private readonly o: MarketLinkOptions) {
    const { market } = o;
    this.#rpc = new Rpc(o.bus, o.me);
    this.homeLeases = new HomeLeases({ registry: market.registry, send: o.sendLocal, schedule: () => market.schedule(), claimHoldMs: CLAIM_HOLD_MS });
    this.#contributors = new ContributorSync({
      me: o.me,
      bus: o.bus,
      market,
      store: o.store,
      log: o.log,
      onGone: (peerId) => market.contributorLeft(peerId),
    });
    this.ownership = new Ownership({
      me: o.me,
      url: o.url,
      store: o.store,
      market,
      rpc: this.#rpc,
      log: o.log,
      timing: o.timing,
      local: o.isLocal,
      adopted: (job) => this.#adopted(job),
      died: (instances) => instances.forEach((i) => this.#contributors.dropHome(i)),
    });
    this.#rpc.handle('claim', (from, body) => this.#serveClaim(from, body));
    this.#rpc.handle('fail', (_from, body) => {
      const b = body as { peer?: unknown; frame?: unknown } | null;
      if (typeof b?.peer !== 'string' || typeof b.frame !== 'object' || b.frame === null) {
        throw new MeshError('invalid-message', "Cannot serve a forwarded failure without 'peer' and 'frame'");
      }
      return this.o.market.fail(b.peer, parseClientFrame({ ...b.frame, type: 'fail', rid: 0 }) as ClientFrameOf<'fail'>);
    });
    market.credibility.onEvent = (e) => {
      this.#events.push(e);
      this.#batch();
    };
  }

  /** Subscribes, heartbeats, reads the cluster's contributors and starts the loops. */
  async start(): Promise<void> {
    const b = this.o.bus;
    const guard = (what: string, fn: (m: BusMessage) => void) => (m: BusMessage) => {
      try {
        fn(m);
      } catch (err) {
        this.o.metrics.inc('bus_errors', 'handler');
        this.o.log.warn('a cluster message failed', { what, err });
      }
    };
    this.#subs.push(await b.subscribe(instanceSubject(this.o.me), guard('direct', (m) => this.#onDirect(m))));
    this.#subs.push(await b.subscribe(CONTRIB_SUBJECT, guard('contributors', (m) => {
      const msg = readContrib(m.json());
      if (!msg) return this.#bad('contributors');
      this.#contributors.onMessage(msg);
    })));
    this.#subs.push(await b.subscribe(CRED_SUBJECT, guard('credibility', (m) => {
      const msg = readCred(m.json());
      if (!msg) return this.#bad('credibility');
      if (msg.from !== this.o.me) for (const e of msg.events) this.o.market.credibility.apply(e);
    })));
    this.#subs.push(await b.subscribe(JOBS_SUBJECT, guard('jobs', (m) => {
      const msg = readMoved(m.json());
      if (!msg) return this.#bad('jobs');
      if (msg.from === this.o.me) return;
      this.homeLeases.moved(msg.jobId, msg.owner);
      for (const waiting of this.#claimsByJob.get(msg.jobId) ?? []) waiting.abort(`moved to ${msg.owner}`);
    })));
    await this.ownership.start();
    await this.#contributors.start(this.ownership.live);
  }

  /** Leaves the cluster: contributors dropped everywhere, jobs orphaned for the others to take. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flushBatch();
    await this.#contributors.stop();
    await this.ownership.stop();
    for (const s of this.#subs) await s.unsubscribe().catch(() => {});
    this.#rpc.close();
    this.homeLeases.close();
    clearTimeout(this.#batchTimer);
  }

  /** Stops as a crash would (tests): no goodbye, no leaving the instances table; the others find out by TTL. */
  async halt(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#batchTimer);
    this.#contributors.halt();
    this.ownership.halt();
    for (const s of this.#subs) await s.unsubscribe().catch(() => {});
    this.#rpc.close();
    this.homeLeases.close();
  }

  /**
   * Sends a frame to a peer served by another instance (the market's `notify` after the local sessions):
   * true when it went to the peer's home (an `assign` may still be declined there).
   */
  route(peerId: string, frame: ServerFrame): boolean {
    const home = this.o.market.registry.get(peerId)?.home;
    if (home === undefined || this.#closed) return false;
    return this.o.bus.publishJson(instanceSubject(home), { t: 'deliver', from: this.o.me, peer: peerId, frame });
  }

  /**
   * A contributor's claim for a lease this instance's market does not hold: forwarded to the job's owner. When
   * the job moves while the claim waits (its owner died, or handed it over), the claim goes to the new owner at
   * once rather than waiting out its timeout.
   */
  async claim(peerId: string, claim: ResultClaim, signature: string): Promise<{ accepted: boolean; duplicate: boolean }> {
    return await this.#forward(claim.jobId, claim.leaseId, 'claim', { peer: peerId, claim, signature }, () => this.o.market.claim(peerId, claim, signature), (owner, r) => {
      if (r.accepted) this.homeLeases.claimed(claim.leaseId, claim.jobId, owner, peerId);
    });
  }

  /** A contributor's report that it could not finish a lease another instance's market holds: forwarded likewise. */
  async fail(peerId: string, f: ClientFrameOf<'fail'>): Promise<{ released: boolean }> {
    return await this.#forward(f.jobId, f.leaseId, 'fail', { peer: peerId, frame: f }, () => Promise.resolve(this.o.market.fail(peerId, f)), () => {});
  }

  async #forward<T>(jobId: string, leaseId: string, op: string, body: unknown, local: () => Promise<T>, done: (owner: string, r: T) => void): Promise<T> {
    let owner = this.homeLeases.ownerOf(leaseId) || await this.o.store.ownerOf(jobId);
    for (let attempt = 1; ; attempt++) {
      if (!owner) throw new MeshError('lease-expired', `Cannot act on lease ${leaseId} as its job ${jobId} is not running`);
      if (owner === this.o.me) return await local();
      const waiting = new AbortController();
      let set = this.#claimsByJob.get(jobId);
      if (!set) this.#claimsByJob.set(jobId, set = new Set());
      set.add(waiting);
      try {
        this.o.metrics.inc('cluster_market', `forwarded-${op}`);
        const r = await this.#rpc.request<T>(owner, op, body, CLAIM_TIMEOUT_MS, waiting.signal);
        done(owner, r);
        return r;
      } catch (err) {
        if (err instanceof MeshError && err.code !== 'internal') throw err; // the owner answered: that is the answer
        // No answer: the job may have moved (its owner died or handed it over); `moved` may already name its owner.
        const moved = typeof waiting.signal.reason === 'string' ? waiting.signal.reason.replace(/^moved to /, '') : undefined;
        const now = moved ?? await this.o.store.ownerOf(jobId);
        if (now === undefined) throw new MeshError('lease-expired', `Cannot act on lease ${leaseId} as its job ${jobId} ended`);
        if (now === owner || attempt >= 3) throw err;
        owner = now;
      } finally {
        set.delete(waiting);
        if (set.size === 0) this.#claimsByJob.delete(jobId);
      }
    }
  }

  // ---- MarketClusterHooks ----

  runEnded(_job: Job, run: Run): void {
    const home = this.o.market.registry.get(run.lease.contributor)?.home;
    if (home === undefined) return;
    let list = this.#ended.get(home);
    if (!list) this.#ended.set(home, list = []);
    list.push(run.lease.leaseId);
    this.#batch();
  }

  jobMoved(job: Job, runs: readonly Run[]): void {
    this.homeLeases.fromMarket(job, runs, '');
  }

  // ---- internals ----

  #onDirect(m: BusMessage): void {
    const msg = readDirect(m.json());
    if (!msg) return this.#bad('direct');
    this.#handleDirect(msg);
  }

  #handleDirect(msg: DirectMsg): void {
    switch (msg.t) {
      case 'req':
        void this.#rpc.onRequest(msg);
        return;
      case 'res':
        return this.#rpc.onReply(msg);
      case 'deliver': {
        if (msg.frame.type !== 'assign') {
          this.o.sendLocal(msg.peer, msg.frame);
          return;
        }
        const why = this.homeLeases.accept(msg.from, msg.frame);
        if (why !== undefined) {
          const declined: DeclinedMsg = { t: 'declined', from: this.o.me, leaseId: msg.frame.lease.leaseId, reason: why };
          this.o.bus.publishJson(instanceSubject(msg.from), declined);
        }
        return;
      }
      case 'declined':
        this.o.metrics.inc('cluster_market', 'declined');
        this.o.market.release(msg.leaseId, `declined by its contributor's instance: ${msg.reason}`, false);
        return;
      case 'ended':
        return this.homeLeases.ended(msg.leases);
    }
  }

  async #serveClaim(_from: string, body: unknown): Promise<unknown> {
    const b = body as { peer?: unknown; claim?: unknown; signature?: unknown } | null;
    if (typeof b?.peer !== 'string' || typeof b.signature !== 'string' || typeof b.claim !== 'object' || b.claim === null) {
      throw new MeshError('invalid-message', "Cannot serve a forwarded claim without 'peer', 'claim' and 'signature'");
    }
    return await this.o.market.claim(b.peer, b.claim as ResultClaim, b.signature);
  }

  #adopted(job: Job): void {
    this.homeLeases.adopted(job);
    for (const waiting of this.#claimsByJob.get(job.jobId) ?? []) waiting.abort(`moved to ${this.o.me}`);
    const moved: MovedMsg = { t: 'moved', from: this.o.me, jobId: job.jobId, owner: this.o.me };
    this.o.bus.publishJson(JOBS_SUBJECT, moved);
  }

  #bad(what: string): void {
    this.o.metrics.inc('bus_errors', 'decode');
    this.o.log.debug('dropped a malformed cluster message', { what });
  }

  #batch(): void {
    this.#batchTimer ??= setTimeout(() => {
      this.#batchTimer = undefined;
      this.#flushBatch();
    }, BATCH_MS);
  }

  #flushBatch(): void {
    for (const [home, leases] of this.#ended) {
      for (let at = 0; at < leases.length; at += PER_MESSAGE) {
        const msg: EndedMsg = { t: 'ended', from: this.o.me, leases: leases.slice(at, at + PER_MESSAGE) };
        this.o.bus.publishJson(instanceSubject(home), msg);
      }
    }
    this.#ended.clear();
    for (let at = 0; at < this.#events.length; at += PER_MESSAGE) {
      const msg: CredMsg = { t: 'cred', from: this.o.me, events: this.#events.slice(at, at + PER_MESSAGE) };
      this.o.bus.publishJson(CRED_SUBJECT, msg);
    }
    this.#events = [];
  }
}
