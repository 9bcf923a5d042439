/** Authenticated mesh sessions by peer id: one per peer, so pushes have exactly one destination. */
import type { ServerFrame } from '../../src/protocol/coordinator.ts';

/** What the registry needs of a session. */
export interface SessionLike {
  readonly peerId: string | undefined;
  send(frame: ServerFrame): boolean;
  close(code: number, reason: string): void;
}

/** Sessions by peer id. */
export class SessionRegistry<S extends SessionLike = SessionLike> {
  #byPeer = new Map<string, S>();

  /** Makes `session` the peer's session; returns the one it replaces, if any (the caller closes it). */
  bind(peerId: string, session: S): S | undefined {
    const old = this.#byPeer.get(peerId);
    this.#byPeer.set(peerId, session);
    return old === session ? undefined : old;
  }

  /** Forgets the session if it is still the peer's current one; true when it was. */
  unbind(peerId: string, session: S): boolean {
    if (this.#byPeer.get(peerId) !== session) return false;
    this.#byPeer.delete(peerId);
    return true;
  }

  /** The peer's session. */
  get(peerId: string): S | undefined {
    return this.#byPeer.get(peerId);
  }

  /** Sends a frame to a peer; false when it has no open session. */
  send(peerId: string, frame: ServerFrame): boolean {
    return this.#byPeer.get(peerId)?.send(frame) ?? false;
  }

  /** Open sessions. */
  get size(): number {
    return this.#byPeer.size;
  }

  /** Closes every session. */
  closeAll(code: number, reason: string): void {
    for (const s of [...this.#byPeer.values()]) s.close(code, reason);
    this.#byPeer.clear();
  }
}
