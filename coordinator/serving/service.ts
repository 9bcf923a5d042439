/**
 * One service's state in the coordinator: its signed spec, its replicas (serving leases in force), the leases
 * it had (kept so late receipts for them still pay), its payers with their escrows and what each paid per
 * replica, and its open disputes. Plain data; serving.ts runs the life cycle, money.ts the ledger writes.
 */
import type { ServeLease, ServiceSpec, ServiceStatus, SignedAnswer } from '../../src/protocol/serving.ts';

/** A replica in force. */
export interface Replica {
  lease: ServeLease;
  /** Placement key of its contributor's network (replicas keep apart when they can). */
  placement: string;
  timer?: ReturnType<typeof setTimeout>;
  /** Last reported queue depth and requests served. */
  queued: number;
  served: number;
}

/** One payer of a service: the opener, or a client that joined a shared service. */
export interface Payer {
  peerId: string;
  /** The ledger's escrow id of this payer's funds. */
  escrowId: string;
  held: number;
  spent: number;
  fees: number;
  refunded: number;
  workUnits: number;
  /** Cumulative work units paid per replica lease (receipts are cumulative). */
  paid: Map<string, number>;
  /** Payments of this payer, one at a time (each reads and writes its escrow). */
  queue: Promise<unknown>;
  closed: boolean;
}

/** A spot-check mismatch waiting for the arbiter's answer. */
export interface Dispute {
  disputeId: string;
  payer: string;
  answers: readonly [SignedAnswer, SignedAnswer];
  arbiter: ServeLease;
  /** The arbiter was placed for this dispute alone (revoked after it). */
  placed: boolean;
  timer: ReturnType<typeof setTimeout>;
}

/** A service. */
export interface Service {
  serviceId: string;
  owner: string;
  spec: ServiceSpec;
  state: 'open' | 'closed';
  reason?: string;
  openedAt: number;
  replicas: Map<string, Replica>;
  /** Leases the service had, by id: contributor and price, for late receipts. */
  past: Map<string, ServeLease>;
  payers: Map<string, Payer>;
  disputes: Map<string, Dispute>;
  /** Contributors that lost a dispute of this service: never placed on it again. */
  barred: Set<string>;
  /** Leases placed over its life (its id suffixes). */
  placements: number;
  ttlTimer?: ReturnType<typeof setTimeout>;
}

/** Leases of ended replicas a service remembers for late receipts. */
export const MAX_PAST_LEASES = 256;

/** The replicas of a service as its payers see them (arbiters included while they serve). */
export function leasesOf(s: Service): ServeLease[] {
  return [...s.replicas.values()].map((r) => ({ ...r.lease }));
}

/** A service as payer `peerId` sees it. */
export function statusFor(s: Service, peerId: string): ServiceStatus {
  const p = s.payers.get(peerId);
  return {
    serviceId: s.serviceId,
    state: s.state,
    owner: s.owner,
    shared: s.spec.shared,
    maxBatch: s.spec.maxBatch,
    replicas: leasesOf(s).filter((l) => l.role === 'replica'),
    escrow: p?.held ?? 0,
    spent: p?.spent ?? 0,
    fees: p?.fees ?? 0,
    refunded: p?.refunded ?? 0,
    workUnits: p?.workUnits ?? 0,
    placements: s.placements,
    ...(s.reason === undefined ? {} : { reason: s.reason }),
  };
}

/** Remembers an ended lease for late receipts, forgetting the oldest past the bound. */
export function rememberLease(s: Service, lease: ServeLease): void {
  s.past.set(lease.leaseId, lease);
  if (s.past.size > MAX_PAST_LEASES) s.past.delete(s.past.keys().next().value!);
}
