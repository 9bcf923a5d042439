/**
 * A simulated contributor: takes assignments, "computes" for a few ms, claims what its role says, then sends
 * the outputs to the client (or, a hoarder, never does). Like the SDK's lease runner, it claims before the
 * client can have the outputs, and stops work on a lease the coordinator revokes.
 */
import type { ContributorLease, ServerFrame } from '../../src/protocol/coordinator.ts';
import type { ShardSpec } from '../../src/protocol/kernel.ts';
import { type ContributorRole, work, type Work } from './behaviours.ts';
import { honestHash } from './hashes.ts';
import { SIGNATURE, type SimPeer, type World } from './world.ts';

/** A contributor identity in the simulation. */
export class SimContributor implements SimPeer {
  readonly #pending = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    readonly id: string,
    readonly network: string,
    readonly role: ContributorRole,
    readonly world: World,
  ) {}

  /** Whether it is a saboteur. */
  get saboteur(): boolean {
    return this.role !== 'honest';
  }

  /** Handles a push from the coordinator. */
  onFrame(frame: ServerFrame): void {
    if (frame.type === 'assign') this.#start(frame.lease, frame.spec);
    else if (frame.type === 'revoke') {
      this.world.cancel(this.#pending.get(frame.leaseId));
      this.#pending.delete(frame.leaseId);
    }
  }

  /** Drops work in progress (the identity leaves). */
  stop(): void {
    for (const t of this.#pending.values()) this.world.cancel(t);
    this.#pending.clear();
  }

  #start(lease: ContributorLease, spec: ShardSpec): void {
    const w = work(this.role, spec, this.world.market.credibility.credible(this.id));
    this.#pending.set(lease.leaseId, this.world.later(() => void this.#finish(lease, spec, w), w.delayMs));
  }

  async #finish(lease: ContributorLease, spec: ShardSpec, w: Work): Promise<void> {
    this.#pending.delete(lease.leaseId);
    const claim = { jobId: lease.jobId, shard: lease.shard, leaseId: lease.leaseId, outputHash: w.hash };
    try {
      if ((await this.world.market.claim(this.id, claim, SIGNATURE)).duplicate) return;
    } catch {
      this.world.counts.lateClaims++; // expired, revoked or settled meanwhile
      return;
    }
    this.world.counts.claimed(`${lease.jobId}:${lease.shard}`, lease.leaseId, this.saboteur, w.hash !== honestHash(spec.inputHash));
    if (w.deliver) this.world.deliver(lease, w.hash);
    else this.world.failTransfer(lease);
  }
}
