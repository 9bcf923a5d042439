/**
 * Contributors coming and going: registration (here, or on another instance of a cluster), pause and resume,
 * and the end of a peer's session. Unclaimed leases of a contributor that pauses or leaves go back to the queue
 * (claimed work stays payable); a client whose session ended keeps its running jobs only if it returns within
 * the client grace.
 */
import type { ClientFrameOf, ServerFrame } from '../../src/protocol/coordinator.ts';
import type { Capabilities } from '../../src/protocol/capabilities.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { placementKey } from '../limits/network.ts';
import type { JobBook } from './book.ts';
import type { ContributorRegistry, RemoteRow } from './contributors.ts';
import type { InFlight } from './in-flight.ts';
import type { FinalState, Job } from './job.ts';
import type { LeaseFailures } from './lease-failures.ts';
import type { RttBook } from './rtt.ts';

/** What contributor sessions need from the market. */
export interface SessionDeps {
  registry: ContributorRegistry;
  runs: InFlight;
  failures: LeaseFailures;
  book: JobBook;
  rtt: RttBook;
  notify: (peerId: string, frame: ServerFrame) => boolean;
  clientGraceMs: number | undefined;
  online: ((peerId: string) => boolean) | undefined;
  /** Releases a contributor's unclaimed leases. */
  releaseAll(peerId: string, reason: string, revoke: boolean): void;
  finalize(job: Job, state: FinalState): Promise<void>;
  schedule(): void;
}

/** The market's side of contributors' and clients' sessions. */
export class ContributorSessions {
  readonly #d: SessionDeps;

  constructor(d: SessionDeps) {
    this.#d = d;
  }


  /** Registers (or updates) a contributor connecting from `network` and looks for work for it. */
  register(peerId: string, f: Pick<ClientFrameOf<'register'>, 'caps' | 'askPrice' | 'maxConcurrent'>, network: string): { state: string } {
    const c = this.#d.registry.register(peerId, f.caps as Capabilities, f.askPrice, f.maxConcurrent, network, placementKey(network, peerId));
    this.#d.runs.countFor(c);
    this.#d.schedule();
    return { state: c.state };
  }

  /** A contributor another instance serves (cluster): jobs here may use it; its runs here count again. */
  remoteContributor(row: RemoteRow): void {
    const got = this.#d.registry.registerRemote(row);
    if (!got) return;
    if (got.created) this.#d.runs.countFor(got.c);
    this.#d.schedule();
  }

  /** Pauses (its unclaimed leases go back to the queue) or resumes a contributor. */
  setState(peerId: string, state: 'active' | 'paused'): { state: string } {
    const c = this.#d.registry.get(peerId);
    if (!c) throw new MeshError('not-found', `Cannot set state of ${peerId} as it is not registered: send 'register' first`);
    this.#d.registry.setState(c, state);
    if (state === 'paused') this.#d.releaseAll(peerId, 'contributor paused', true);
    else this.#d.failures.succeeded(peerId);
    this.#d.schedule();
    return { state };
  }

  /** Removes a contributor; `connected` says whether it can still be told (revoke). */
  unregister(peerId: string, connected = true): boolean {
    if (!this.#d.registry.get(peerId)) return false;
    this.#d.releaseAll(peerId, connected ? 'contributor unregistered' : 'contributor left', connected);
    this.#d.registry.unregister(peerId);
    return true;
  }

  /**
   * A peer's mesh session ended: its leases are released, and its running jobs end (claimed work paid) unless
   * it authenticates again within the client grace.
   */
  async peerGone(peerId: string): Promise<void> {
    this.#d.rtt.forget(peerId);
    this.contributorLeft(peerId);
    if (![...this.#d.book.running()].some((j) => j.client === peerId)) return;
    // A client that comes back within the grace (a network blip, a coordinator it failed over from) keeps its jobs.
    await new Promise((r) => setTimeout(r, this.#d.clientGraceMs ?? 0));
    if (this.#d.online?.(peerId)) return;
    const mine = [...this.#d.book.running()].filter((j) => j.client === peerId);
    await Promise.all(mine.map((j) => this.#d.finalize(j, 'cancelled')));
  }

  /** A contributor's session ended (here, or on its home instance): its leases are released, its clients told. */
  contributorLeft(peerId: string): void {
    const waiting = new Set<string>();
    for (const { job, run } of this.#d.runs.values()) {
      if (run.lease.contributor === peerId && run.state === 'claimed') waiting.add(job.client);
    }
    for (const client of waiting) this.#d.notify(client, { type: 'peer-left', peerId });
    this.unregister(peerId, false);
  }
}
