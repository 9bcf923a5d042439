/**
 * The two sides of the seam between the signalling server and the cluster: what the server asks of its
 * optional cluster link, and what the link may do to the server. Types only.
 */
import type { Realm, SignalClient } from '../realm.ts';
import type { RoutedSignal } from './envelope.ts';

export type { RoutedSignal } from './envelope.ts';

/** The outcome of claiming an id cluster-wide: open it, refuse with ID-TAKEN, or refuse with this ERROR message. */
export type ClaimVerdict = 'ok' | 'taken' | { error: string };

/** What the signalling server asks of its cluster link. */
export interface SignallingCluster {
  /** Binds the link to the server (the server calls this once, from its constructor). */
  attach(server: LocalSignalling): void;
  /** Claims the client's id cluster-wide before it opens (ID-TAKEN, keyed takeover). */
  claim(client: SignalClient): Promise<ClaimVerdict>;
  /** The client opened here (after `claim`). */
  opened(client: SignalClient): void;
  /** The client, the current holder of its id here, is gone (socket closed, LEAVE, silent, send failed). */
  release(client: SignalClient): void;
  /** Sends a frame whose destination is not connected here: to its instance, or queued, or EXPIRE. */
  route(frame: RoutedSignal): void;
}

/** What the cluster link may do to the local signalling server. */
export interface LocalSignalling {
  readonly realm: Realm;
  /** Delivers a frame to its destination if it is connected here (false if not); a failed send drops the
   * destination and tells the sender LEAVE. */
  deliverLocal(frame: RoutedSignal): boolean;
  /** Closes a local client's socket without releasing its id (another instance holds it now). */
  evict(id: string, code: number, reason: string): void;
}
