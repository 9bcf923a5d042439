/**
 * The cluster's directory of signalling peers: which instance holds which peer id, and which instances are
 * alive. Instances heartbeat; an instance that misses heartbeats for `ttlMs` stops being alive, and every
 * entry it holds stops resolving at once (no per-peer expiry to refresh), so a crashed instance stops being
 * a destination within `ttlMs`. Claims are atomic per id and carry an `epoch` that grows with every claim of
 * that id cluster-wide: it names the claim (release deletes only the claim it made) and orders claims (an
 * instance that hears of a newer claim of an id it holds closes its socket).
 *
 * Two implementations: a PostgreSQL table (pg-directory.ts) and NATS JetStream KV buckets
 * (nats-directory.ts); each cluster uses the one of its bus engine.
 */

/** Liveness settings shared by every instance of a cluster. */
export interface DirectoryTiming {
  /** How often an instance heartbeats (ms). */
  heartbeatMs: number;
  /** An instance silent this long is dead, with all its entries (ms). */
  ttlMs: number;
}

/** Production timing: a crashed instance's peers resolve nowhere within 15 s. */
export const DEFAULT_TIMING: DirectoryTiming = { heartbeatMs: 5_000, ttlMs: 15_000 };

/** A claim of a peer id by this instance. */
export interface ClaimRequest {
  peer: string;
  /** Hash of the connection's token: the same token reconnecting may take the id over (PeerJS behaviour). */
  tokenHash: string;
  /** The connection proved the id's key (token.ts): it takes the id over from any holder. */
  keyed: boolean;
}

/** A claim's outcome: held (with its epoch, and the live instance it took the id from), or taken by `holder`. */
export type ClaimResult = { ok: true; epoch: number; previous: string | null } | { ok: false; holder: string };

/** Storage of the directory. */
export interface PeerDirectory {
  /** This instance's id. */
  readonly instance: string;
  /** Marks this instance alive; resolves whether it was alive just before (false: its entries were dropped or
   * never made, so its peers must be claimed again). */
  heartbeat(): Promise<boolean>;
  /**
   * Claims `peer` for this instance unless a live instance holds it with another token and the claim is not
   * keyed (then `{ok: false}`: ID-TAKEN). Entries of dead instances are taken over.
   */
  claim(req: ClaimRequest): Promise<ClaimResult>;
  /** Deletes this instance's claim `epoch` of `peer`, if it is still the current one. */
  release(peer: string, epoch: number): Promise<void>;
  /** The live instance holding `peer`, or null. */
  lookup(peer: string): Promise<string | null>;
  /** Removes this instance and its entries (a clean stop): its peers stop resolving at once. */
  leave(): Promise<void>;
  /** Closes connections; idempotent. */
  close(): Promise<void>;
}

/** A token's hash as the directory stores it (the token itself never leaves the instance). */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return btoa(String.fromCharCode(...new Uint8Array(digest).subarray(0, 18)));
}

/** Throws RangeError unless the timing is usable (the TTL must cover at least two heartbeats). */
export function checkTiming(t: DirectoryTiming): void {
  if (!(t.heartbeatMs >= 10) || !(t.ttlMs >= 2 * t.heartbeatMs)) {
    throw new RangeError(`Cannot run the directory as 'ttlMs' must be at least twice 'heartbeatMs' (>= 10): current values are ${t.ttlMs}, ${t.heartbeatMs}`);
  }
}
