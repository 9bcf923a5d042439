/**
 * A client that fails over as the SDK does with a list of coordinators: when its socket to one instance closes
 * it connects at once to the next, with the same identity, and sends again every receipt that got no answer
 * (payments are idempotent per receipt, so one the dead instance had written is answered paid:false).
 */
import type { ContributorLease } from '../../src/protocol/coordinator.ts';
import type { Identity } from '../../src/core/identity.ts';
import { BenchPeer } from './bench-peer.ts';

/** An acknowledged claim, to pay. */
export interface ToPay {
  lease: ContributorLease;
  hash: string;
}

/** What the client reports. */
export interface ClientEvents {
  /** A receipt was answered in session `session` (1 for the first connect, 2 after the first failover...). */
  paid(p: ToPay, paid: boolean, session: number): void;
  /** A receipt was refused (not because the socket closed). */
  refused(p: ToPay, err: Error): void;
}

/** One client identity over successive sessions. */
export class FailoverClient {
  #peer: BenchPeer | undefined;
  #session = 0;
  /** Receipts sent or waiting to be sent, not answered yet, by lease id. */
  readonly #pending = new Map<string, ToPay>();

  constructor(readonly identity: Identity, private readonly workUnits: number, private readonly events: ClientEvents) {}

  /** The current session (undefined while failing over). */
  get peer(): BenchPeer | undefined {
    return this.#peer;
  }

  /** Connects to `url`, then sends every receipt still unanswered. */
  async connect(url: string): Promise<BenchPeer> {
    this.#peer = undefined;
    const peer = await BenchPeer.connect(url, this.identity, () => {});
    this.#peer = peer;
    const session = ++this.#session;
    for (const p of this.#pending.values()) this.#send(peer, session, p);
    return peer;
  }

  /** Pays an acknowledged claim now, or after the next connect. */
  pay(p: ToPay): void {
    this.#pending.set(p.lease.leaseId, p);
    if (this.#peer) this.#send(this.#peer, this.#session, p);
  }

  /** Receipts not answered yet. */
  get unanswered(): number {
    return this.#pending.size;
  }

  #send(peer: BenchPeer, session: number, p: ToPay): void {
    peer.pay(p.lease, p.hash, this.workUnits).then((r) => {
      if (!this.#pending.delete(p.lease.leaseId)) return;
      this.events.paid(p, r.paid, session);
    }, (err: Error) => {
      // The session died before answering: the receipt goes again on the next session.
      if (peer.socket.readyState !== WebSocket.OPEN) return;
      if (!this.#pending.delete(p.lease.leaseId)) return;
      this.events.refused(p, err);
    });
  }
}
