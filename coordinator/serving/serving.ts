/**
 * Continuous serving in the coordinator (see src/protocol/serving.ts for the protocol): services opened with
 * an escrow, their replicas placed on contributors as serving leases that their contributors renew while they
 * are healthy, re-placed when a contributor leaves, pauses, gives a lease up or stops renewing, and closed
 * (every payer's escrow refunded after its last payment) by the owner, by their time-to-live, or when the
 * owner is gone. It shares the market's contributor registry (a serving lease takes a slot of its
 * contributor's capacity) and credibility, but none of the market's job state: market.ts is not touched.
 * Services live in memory only: after a restart their escrows are refunded as orphans (market/recovery.ts).
 */
import { sha256Hex } from '../../src/core/hash.ts';
import { canonicalJson, type ServerFrame } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { ServeLease, ServeOpenResult, ServeReceipt, ServiceSpec, ServiceStatus } from '../../src/protocol/serving.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ContributorRegistry } from '../market/contributors.ts';
import type { Credibility } from '../market/credibility.ts';
import { holdEscrow, newPayer, payReceipt, refundPayer, type ServePaid } from './money.ts';
import { chooseReplicas } from './placement.ts';
import { leasesOf, type Replica, rememberLease, type Service, statusFor } from './service.ts';
import { ServeDisputes } from './disputes.ts';

/** Services one client may have open (as owner). */
export const MAX_SERVICES_PER_CLIENT = 16;
/** Services open at once on this coordinator. */
export const MAX_SERVICES = 10_000;
/** Payers of one shared service. */
export const MAX_PAYERS = 64;
/** How often under-replicated services look for contributors again (ms). */
export const PLACE_RETRY_MS = 1_000;
/** Closed services kept for status queries and late receipts. */
const MAX_CLOSED = 1_000;

/** What serving needs from the coordinator. */
export interface ServingDeps {
  ledger: Ledger;
  registry: ContributorRegistry;
  credibility: Credibility;
  notify: (peerId: string, frame: ServerFrame) => boolean;
  feeRate: number;
  /** A serving lease lasts this long unless renewed; contributors renew it every third of it. */
  leaseMs: number;
  log: Logger;
  metrics: Metrics;
  online?: (peerId: string) => boolean;
  clientGraceMs?: number;
  random?: () => number;
}

/** The coordinator's services. */
export class ServingBook {
  readonly #services = new Map<string, Service>();
  readonly #closed = new Map<string, Service>();
  /** Serving lease id -> its service. */
  readonly #leases = new Map<string, Service>();
  readonly #random: () => number;
  readonly disputes: ServeDisputes;
  #retry: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(readonly deps: ServingDeps) {
    this.#random = deps.random ?? Math.random;
    this.disputes = new ServeDisputes({
      credibility: deps.credibility,
      log: deps.log,
      metrics: deps.metrics,
      lease: (s, leaseId) => s.replicas.get(leaseId)?.lease ?? s.past.get(leaseId),
      placeArbiter: (s, exclude) => this.#place(s, 1, 'arbiter', exclude)[0],
      endReplica: (s, leaseId, reason) => this.#endReplica(s, leaseId, reason, true),
      replace: (s) => this.#fill(s),
    });
  }

  /** Services open now. */
  get open(): number {
    return this.#services.size;
  }

  /** A service by id (open or recently closed); tests and metrics. */
  service(serviceId: string): Service | undefined {
    return this.#services.get(serviceId) ?? this.#closed.get(serviceId);
  }

  /** Opens a service signed by `client` (signature checked by the caller): holds its budget, places replicas. */
  async openService(client: string, spec: ServiceSpec): Promise<ServeOpenResult> {
    if (this.#stopped) throw new MeshError('internal', 'Cannot open a service as the coordinator is shutting down');
    const serviceId = 'sv' + (await sha256Hex(new TextEncoder().encode(`${client}\n${canonicalJson(spec)}`))).slice(0, 30);
    if (this.#services.has(serviceId) || this.#closed.has(serviceId)) {
      throw new MeshError('conflict', `Cannot open the service as this signed service (nonce ${spec.nonce}) was already opened`);
    }
    if (this.#services.size >= MAX_SERVICES) throw new MeshError('rate-limited', `Cannot open a service as ${MAX_SERVICES} are open: try again later`);
    const mine = [...this.#services.values()].filter((s) => s.owner === client).length;
    if (mine >= MAX_SERVICES_PER_CLIENT) {
      throw new MeshError('rate-limited', `Cannot open a service as a client may have ${MAX_SERVICES_PER_CLIENT} open: current count is ${mine}`);
    }
    const s: Service = {
      serviceId,
      owner: client,
      spec,
      state: 'open',
      openedAt: Date.now(),
      replicas: new Map(),
      past: new Map(),
      payers: new Map(),
      disputes: new Map(),
      barred: new Set(),
      placements: 0,
    };
    const owner = newPayer(serviceId, client, true);
    this.#services.set(serviceId, s); // reserved before the hold: a concurrent duplicate is refused above
    try {
      await holdEscrow(this.deps.ledger, owner, spec.budget);
    } catch (err) {
      this.#services.delete(serviceId);
      throw err;
    }
    s.payers.set(client, owner);
    s.ttlTimer = setTimeout(() => void this.#close(s, 'expired'), spec.ttlMs);
    this.deps.metrics.inc('services');
    this.deps.log.info('service opened', { serviceId, client, replicas: spec.replicas, budget: spec.budget, maxBatch: spec.maxBatch });
    this.#fill(s);
    this.#armRetry();
    return { serviceId, status: statusFor(s, client) };
  }

  /** Joins a shared service as a payer with an escrow of its own. */
  async join(client: string, serviceId: string, budget: number): Promise<ServeOpenResult> {
    const s = this.#open(serviceId);
    if (s.payers.has(client)) throw new MeshError('conflict', `Cannot join service ${serviceId} as ${client} already pays for it`);
    if (!s.spec.shared) throw new MeshError('unauthorized', `Cannot join service ${serviceId} as its owner did not share it`);
    if (s.payers.size >= MAX_PAYERS) throw new MeshError('rate-limited', `Cannot join service ${serviceId} as it has ${MAX_PAYERS} payers`);
    const p = newPayer(serviceId, client, false);
    s.payers.set(client, p);
    try {
      await holdEscrow(this.deps.ledger, p, budget);
    } catch (err) {
      s.payers.delete(client);
      throw err;
    }
    if (s.state !== 'open') {
      await refundPayer(this.deps.ledger, p);
      throw new MeshError('not-found', `Cannot join service ${serviceId} as it closed meanwhile`);
    }
    for (const r of s.replicas.values()) this.deps.notify(r.lease.contributor, { type: 'serve-payer', leaseId: r.lease.leaseId, payer: client });
    return { serviceId, status: statusFor(s, client) };
  }

  /** The owner closes its service; a joiner leaves it. Either way that payer's escrow is refunded. */
  async closeFor(client: string, serviceId: string): Promise<ServiceStatus> {
    const s = this.#services.get(serviceId) ?? this.#closed.get(serviceId);
    const p = s?.payers.get(client);
    if (!s || !p) throw new MeshError('not-found', `Cannot close service ${serviceId} as ${client} does not pay for it`);
    if (client === s.owner) await this.#close(s, 'closed by its owner');
    else if (!p.closed) await refundPayer(this.deps.ledger, p);
    return statusFor(s, client);
  }

  /** A payer's view of a service. */
  status(client: string, serviceId: string): ServiceStatus {
    const s = this.#services.get(serviceId) ?? this.#closed.get(serviceId);
    if (!s || !s.payers.has(client)) throw new MeshError('not-found', `Cannot show service ${serviceId} as ${client} does not pay for it`);
    return statusFor(s, client);
  }

  /** A replica's contributor renews its lease; returns the new expiry. */
  renew(peerId: string, leaseId: string, queued: number, served: number): { expiresAt: number } {
    const s = this.#leases.get(leaseId);
    const r = s?.replicas.get(leaseId);
    if (!s || !r || r.lease.contributor !== peerId) {
      throw new MeshError('lease-expired', `Cannot renew serving lease ${leaseId} as ${peerId} holds no such lease: stop serving it`);
    }
    r.lease.expiresAt = Date.now() + this.deps.leaseMs;
    r.queued = queued;
    r.served = served;
    clearTimeout(r.timer);
    r.timer = setTimeout(() => this.#endReplica(s, leaseId, 'lease expired: not renewed', true), this.deps.leaseMs);
    // A contributor that registered again has a fresh load set: the lease holds its slot again.
    this.deps.registry.get(peerId)?.load.add(leaseId);
    return { expiresAt: r.lease.expiresAt };
  }

  /** A replica's contributor gives its lease up: another replica is placed. */
  leave(peerId: string, leaseId: string, reason: string): { left: boolean } {
    const s = this.#leases.get(leaseId);
    if (!s || s.replicas.get(leaseId)?.lease.contributor !== peerId) return { left: false };
    this.#endReplica(s, leaseId, `left by its contributor: ${reason}`, false);
    this.#fill(s, new Set([peerId])); // not straight back to the one that gave it up
    return { left: true };
  }


  /** Pays a payer's signed cumulative receipt (signature checked by the caller). */
  async receipt(client: string, receipt: ServeReceipt, signature: string): Promise<Omit<ServePaid, 'balance'>> {
    const s = this.#services.get(receipt.serviceId) ?? this.#closed.get(receipt.serviceId);
    const p = s?.payers.get(client);
    if (!s || !p) throw new MeshError('not-found', `Cannot pay for service ${receipt.serviceId} as ${client} does not pay for it`);
    if (p.closed) throw new MeshError('conflict', `Cannot pay for service ${receipt.serviceId} as ${client}'s escrow was refunded`);
    const lease = s.replicas.get(receipt.leaseId)?.lease ?? s.past.get(receipt.leaseId);
    if (!lease) throw new MeshError('not-found', `Cannot pay lease ${receipt.leaseId} as service ${receipt.serviceId} never had it`);
    const paid = await payReceipt(this.deps.ledger, this.deps.feeRate, s, p, lease, receipt, signature);
    if (paid.paid) {
      this.deps.metrics.inc('ledger_ops', 'serve-settle');
      this.deps.notify(lease.contributor, {
        type: 'serve-credited',
        leaseId: lease.leaseId,
        payer: client,
        workUnits: receipt.workUnits,
        amount: paid.amount,
        balance: paid.balance ?? 0,
      });
    }
    // The contributor's balance is its business: the payer hears what it paid.
    return { paid: paid.paid, amount: paid.amount, fee: paid.fee };
  }

  /** A peer's session ended: its replicas are re-placed; services it owns close unless it returns in time. */
  async peerGone(peerId: string): Promise<void> {
    this.contributorGone(peerId, 'contributor left');
    const owned = () => [...this.#services.values()].filter((s) => s.owner === peerId);
    const joined = [...this.#services.values()].filter((s) => s.owner !== peerId && s.payers.has(peerId));
    if (owned().length === 0 && joined.length === 0) return;
    await new Promise((r) => setTimeout(r, this.deps.clientGraceMs ?? 0));
    if (this.deps.online?.(peerId)) return;
    await Promise.all([
      ...owned().map((s) => this.#close(s, 'its owner left')),
      ...joined.map((s) => refundPayer(this.deps.ledger, s.payers.get(peerId)!).catch(() => 0)),
    ]);
  }

  /**
   * A contributor stopped (left, unregistered or paused): each of its replicas is ended (revoked when it is still
   * there to hear it) and re-placed.
   */
  contributorGone(peerId: string, reason: string, revoke = false): void {
    for (const [leaseId, s] of [...this.#leases]) {
      if (s.replicas.get(leaseId)?.lease.contributor !== peerId) continue;
      this.#endReplica(s, leaseId, reason, revoke);
      this.#fill(s);
    }
  }

  /** Stops timers and closes every service (every payer refunded). */
  async shutdown(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#retry);
    await Promise.all([...this.#services.values()].map((s) => this.#close(s, 'the coordinator is shutting down')));
  }

  #open(serviceId: string): Service {
    const s = this.#services.get(serviceId);
    if (!s) throw new MeshError('not-found', `Cannot use service ${serviceId} as it is not open`);
    return s;
  }

  /** Places replicas until the service has as many as it asked for (or no contributor is left to take one). */
  #fill(s: Service, exclude: ReadonlySet<string> = new Set()): void {
    if (s.state !== 'open') return;
    const live = [...s.replicas.values()].filter((r) => r.lease.role === 'replica').length;
    if (live < s.spec.replicas) this.#place(s, s.spec.replicas - live, 'replica', exclude);
  }

  /** Places up to `count` leases of `role`; returns them. Payers hear the new list. */
  #place(s: Service, count: number, role: ServeLease['role'], exclude: ReadonlySet<string>): ServeLease[] {
    const serving = new Set([...exclude, ...s.barred, ...[...s.replicas.values()].map((r) => r.lease.contributor)]);
    const used = new Set([...s.replicas.values()].map((r) => r.placement));
    const placed: ServeLease[] = [];
    for (const c of chooseReplicas({ registry: this.deps.registry, credibility: this.deps.credibility, random: this.#random }, count, s.spec.bid, serving, used)) {
      const lease: ServeLease = {
        leaseId: `${s.serviceId}-${++s.placements}`,
        serviceId: s.serviceId,
        client: s.owner,
        contributor: c.peerId,
        price: c.askPrice,
        expiresAt: Date.now() + this.deps.leaseMs,
        role,
      };
      const r: Replica = { lease, placement: c.placement, queued: 0, served: 0 };
      r.timer = setTimeout(() => this.#endReplica(s, lease.leaseId, 'lease expired: not renewed', true), this.deps.leaseMs);
      s.replicas.set(lease.leaseId, r);
      this.#leases.set(lease.leaseId, s);
      c.load.add(lease.leaseId);
      const told = this.deps.notify(c.peerId, {
        type: 'serve-assign',
        lease: { ...lease },
        kernel: s.spec.kernel,
        maxBatch: s.spec.maxBatch,
        maxWaitMs: s.spec.maxWaitMs,
        payers: [...s.payers.values()].filter((p) => !p.closed).map((p) => p.peerId),
        renewMs: Math.floor(this.deps.leaseMs / 3),
      });
      if (!told) {
        this.#endReplica(s, lease.leaseId, 'contributor unreachable', false, false);
        continue;
      }
      placed.push(lease);
      this.deps.metrics.inc('serve_placements');
      this.deps.log.info('serving lease placed', { serviceId: s.serviceId, leaseId: lease.leaseId, contributor: c.peerId, role });
    }
    if (placed.length > 0) this.#tellPayers(s);
    return placed;
  }

  /** Ends a serving lease: frees its slot, remembers it for late receipts, tells its contributor and the payers. */
  #endReplica(s: Service, leaseId: string, reason: string, revoke: boolean, tell = true): void {
    const r = s.replicas.get(leaseId);
    if (!r) return;
    clearTimeout(r.timer);
    s.replicas.delete(leaseId);
    this.#leases.delete(leaseId);
    rememberLease(s, r.lease);
    const c = this.deps.registry.get(r.lease.contributor);
    if (c?.load.delete(leaseId)) this.deps.metrics.inc('serve_ended');
    if (revoke) this.deps.notify(r.lease.contributor, { type: 'serve-revoke', leaseId, reason });
    this.deps.log.info('serving lease ended', { serviceId: s.serviceId, leaseId, contributor: r.lease.contributor, reason });
    if (tell) this.#tellPayers(s);
    // A contributor that stopped renewing is not trusted with the replacement (the retry may come back to it later).
    if (reason.startsWith('lease expired')) this.#fill(s, new Set([r.lease.contributor]));
  }

  #tellPayers(s: Service): void {
    const replicas = leasesOf(s);
    for (const p of s.payers.values()) if (!p.closed) this.deps.notify(p.peerId, { type: 'serve-replicas', serviceId: s.serviceId, replicas });
  }

  /** Closes a service: its leases revoked, every payer refunded after its last payment, payers told. */
  async #close(s: Service, reason: string): Promise<void> {
    if (s.state !== 'open') return;
    s.state = 'closed';
    s.reason = reason;
    clearTimeout(s.ttlTimer);
    this.disputes.dropAll(s);
    for (const leaseId of [...s.replicas.keys()]) this.#endReplica(s, leaseId, `service ${reason}`, true, false);
    this.#services.delete(s.serviceId);
    this.#closed.set(s.serviceId, s);
    if (this.#closed.size > MAX_CLOSED) this.#closed.delete(this.#closed.keys().next().value!);
    await Promise.all([...s.payers.values()].map((p) => (p.closed ? 0 : refundPayer(this.deps.ledger, p).catch((err) => {
      this.deps.log.error('refunding a service payer failed', { serviceId: s.serviceId, payer: p.peerId, err });
      return 0;
    }))));
    this.deps.log.info('service closed', { serviceId: s.serviceId, reason });
    for (const p of s.payers.values()) this.deps.notify(p.peerId, { type: 'serve-closed', serviceId: s.serviceId, status: statusFor(s, p.peerId) });
  }

  /** Under-replicated services look for contributors again every PLACE_RETRY_MS while any is open. */
  #armRetry(): void {
    if (this.#retry !== undefined) return;
    this.#retry = setInterval(() => {
      if (this.#services.size === 0) {
        clearInterval(this.#retry);
        this.#retry = undefined;
        return;
      }
      for (const s of this.#services.values()) this.#fill(s);
    }, PLACE_RETRY_MS);
  }
}
