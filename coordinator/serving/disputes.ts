/**
 * Spot-check disputes of a service, decided like a job's: two replicas answered one input with outputs out of
 * tolerance (the payer saw it; both answers carry their replica's signature, evidence.ts), so a third
 * contributor runs the input: a replica of the service that is neither side, or an arbiter placed for this
 * dispute alone. Its signed answer decides by hash; the replica it contradicts loses its lease (re-placed)
 * and credibility, and the agreeing two gain an agreement. A dispute without an arbiter's answer in
 * DISPUTE_MS lapses: nobody is penalised. Disputes are bounded per service.
 */
import { toBase64Url } from '../../src/core/encoding.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { ServeLease, SignedAnswer } from '../../src/protocol/serving.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Credibility } from '../market/credibility.ts';
import { arbitrate, checkAnswer } from './evidence.ts';
import type { Dispute, Service } from './service.ts';

/** Disputes a service may have open at once. */
export const MAX_DISPUTES = 16;
/** How long a dispute waits for the arbiter's answer (ms). */
export const DISPUTE_MS = 60_000;

/** What disputes need from the serving book. */
export interface DisputeDeps {
  credibility: Credibility;
  log: Logger;
  metrics: Metrics;
  /** A lease the service has or had. */
  lease(s: Service, leaseId: string): ServeLease | undefined;
  /** Places a one-off arbiter lease on a contributor outside `exclude`. */
  placeArbiter(s: Service, exclude: ReadonlySet<string>): ServeLease | undefined;
  /** Ends a lease of the service (revoking it). */
  endReplica(s: Service, leaseId: string, reason: string): void;
  /** Places replicas the service lacks. */
  replace(s: Service): void;
}

/** The outcome of an arbitration. */
export interface ServeVerdict {
  /** 'upheld': the arbiter agreed with one side, whose rival lost; 'undecided': it agreed with neither exactly. */
  verdict: 'upheld' | 'undecided';
  /** The lease that lost, when one did. */
  loser?: string;
}

/** Disputes of all services. */
export class ServeDisputes {
  constructor(private readonly d: DisputeDeps) {}

  /** Opens a dispute over two signed answers; returns its id and the arbiter the payer sends the input to. */
  async open(s: Service, payer: string, answers: readonly [SignedAnswer, SignedAnswer]): Promise<{ disputeId: string; arbiter: ServeLease }> {
    if (s.state !== 'open') throw new MeshError('not-found', `Cannot dispute answers of service ${s.serviceId} as it is closed`);
    if (!s.payers.has(payer)) throw new MeshError('unauthorized', `Cannot dispute answers of service ${s.serviceId} as ${payer} does not pay for it`);
    if (s.disputes.size >= MAX_DISPUTES) throw new MeshError('rate-limited', `Cannot open a dispute as service ${s.serviceId} has ${MAX_DISPUTES} open`);
    const [a, b] = answers;
    if (a.claim.leaseId === b.claim.leaseId) throw new MeshError('invalid-message', 'Cannot dispute two answers of one lease');
    if (a.claim.inputHash !== b.claim.inputHash) {
      throw new MeshError('invalid-message', `Cannot dispute answers to different inputs: ${a.claim.inputHash} vs ${b.claim.inputHash}`);
    }
    if (a.claim.outputHash === b.claim.outputHash) throw new MeshError('invalid-message', 'Cannot dispute answers with the same output hash: they agree');
    const leases = answers.map((x) => this.d.lease(s, x.claim.leaseId));
    for (const [i, lease] of leases.entries()) {
      if (!lease) throw new MeshError('not-found', `Cannot dispute an answer of lease ${answers[i]!.claim.leaseId} as service ${s.serviceId} never had it`);
      await checkAnswer(answers[i]!, lease);
    }
    const sides = new Set(leases.map((l) => l!.contributor));
    const third = [...s.replicas.values()].find((r) => r.lease.role === 'replica' && !sides.has(r.lease.contributor))?.lease;
    const arbiter = third ?? this.d.placeArbiter(s, sides);
    if (!arbiter) throw new MeshError('no-capable-peer', `Cannot arbitrate service ${s.serviceId}: no third contributor can run it now`);
    const disputeId = 'd' + toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
    const dispute: Dispute = {
      disputeId,
      payer,
      answers: [a, b],
      arbiter,
      placed: third === undefined,
      timer: setTimeout(() => this.#drop(s, dispute, 'lapsed'), DISPUTE_MS),
    };
    s.disputes.set(disputeId, dispute);
    this.d.metrics.inc('serve_disputes');
    this.d.log.info('serving dispute opened', { serviceId: s.serviceId, disputeId, leases: leases.map((l) => l!.leaseId), arbiter: arbiter.leaseId });
    return { disputeId, arbiter: { ...arbiter } };
  }

  /** Decides a dispute with the arbiter's signed answer to the same input. */
  async decide(s: Service, payer: string, disputeId: string, answer: SignedAnswer): Promise<ServeVerdict> {
    const dispute = s.disputes.get(disputeId);
    if (!dispute || dispute.payer !== payer) throw new MeshError('not-found', `Cannot decide dispute ${disputeId} as ${payer} has no such dispute open`);
    if (answer.claim.inputHash !== dispute.answers[0].claim.inputHash) {
      throw new MeshError('invalid-message', `Cannot decide dispute ${disputeId} with an answer to another input: ${answer.claim.inputHash}`);
    }
    await checkAnswer(answer, dispute.arbiter);
    if (s.disputes.get(disputeId) !== dispute) throw new MeshError('not-found', `Cannot decide dispute ${disputeId} as it was decided or lapsed meanwhile`);
    const side = arbitrate(dispute.answers, answer);
    this.#drop(s, dispute, side === undefined ? 'undecided' : 'decided');
    if (side === undefined) {
      this.d.log.info('serving dispute undecided', { serviceId: s.serviceId, disputeId });
      return { verdict: 'undecided' };
    }
    const winner = dispute.answers[side].claim.leaseId;
    const loser = dispute.answers[1 - side]!.claim.leaseId;
    const lost = this.d.lease(s, loser)!;
    this.d.credibility.failed(lost.contributor);
    // Barred from this service (bounded: a service has at most MAX_DISPUTES open, and each bars one).
    if (s.barred.size < 1024) s.barred.add(lost.contributor);
    this.d.credibility.agreed([this.d.lease(s, winner)!.contributor, dispute.arbiter.contributor]);
    this.d.metrics.inc('errors', 'serve-rejected-arbitration');
    this.d.endReplica(s, loser, 'rejected: arbitration');
    this.d.replace(s);
    this.d.log.info('serving dispute upheld', { serviceId: s.serviceId, disputeId, loser, contributor: lost.contributor });
    return { verdict: 'upheld', loser };
  }

  /** Drops every dispute of a closing service. */
  dropAll(s: Service): void {
    for (const dispute of [...s.disputes.values()]) this.#drop(s, dispute, 'service closed');
  }

  #drop(s: Service, dispute: Dispute, why: string): void {
    clearTimeout(dispute.timer);
    if (s.disputes.get(dispute.disputeId) !== dispute) return;
    s.disputes.delete(dispute.disputeId);
    if (dispute.placed) this.d.endReplica(s, dispute.arbiter.leaseId, `arbiter no longer needed (${why})`);
  }
}
