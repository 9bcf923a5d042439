/**
 * The peer directory in NATS JetStream KV (the server must run with `-js`). Two buckets:
 *
 * | bucket | key | value | limits | why |
 * |---|---|---|---|---|
 * | mw_signal_instances | instance id | heartbeat time | max_age = ttl | an instance's key vanishes when it stops beating |
 * | mw_signal_peers | peer id (' ' as '=') | {i: instance, t: token hash, k: keyed} | history 1, max_age 1 h, max_bytes | who holds each id |
 *
 * Atomicity: claims are compare-and-set on the key's revision (`create`, or `update` with the revision read),
 * retried on a lost race, so two instances never both win an unkeyed id; the revision is the claim's epoch
 * (it grows with every write of the bucket). A peer entry resolves only while its instance's key exists, so
 * a crashed instance stops being a destination after the TTL. Entries (and the tombstones deletes leave)
 * expire after max_age unless refreshed: each instance rewrites its own entries when a third of max_age old,
 * a few hundred per heartbeat, so the bucket holds live peers plus at most an hour of leftovers, and
 * max_bytes caps it whatever happens (claims then fail and connections are refused with an ERROR).
 */
import { connect, type KV, type NatsConnection } from 'nats';
import type { ClaimRequest, ClaimResult, DirectoryTiming, PeerDirectory } from './directory.ts';

/** Bucket limits. */
export const PEER_ENTRY_MAX_AGE_MS = 60 * 60 * 1000;
const PEERS_MAX_BYTES = 64 * 1024 * 1024;
/** Own entries rewritten per heartbeat at most. */
const REFRESH_PER_BEAT = 500;

interface Entry {
  i: string;
  t: string;
  k: boolean;
}

/** Opens (creating if needed) the directory's buckets on the NATS server at `url`. */
export async function openNatsDirectory(url: string, instance: string, timing: DirectoryTiming): Promise<NatsDirectory> {
  const nc = await connect({ servers: url, name: `meshwork-dir-${instance}`, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    const js = nc.jetstream();
    const bucket = async (name: string, limits: Record<string, number>): Promise<KV> => {
      try {
        return await js.views.kv(name, { history: 1, ...limits });
      } catch {
        // Created by another instance with other limits: use it as it is.
        return await js.views.kv(name, { bindOnly: true });
      }
    };
    const instances = await bucket('mw_signal_instances', { ttl: timing.ttlMs });
    const peers = await bucket('mw_signal_peers', { ttl: PEER_ENTRY_MAX_AGE_MS, max_bytes: PEERS_MAX_BYTES });
    return new NatsDirectory(nc, instances, peers, instance, timing);
  } catch (err) {
    await nc.close();
    throw new Error(`Cannot open the peer directory in NATS KV (is JetStream on, nats-server -js?): ${(err as Error).message}`, { cause: err });
  }
}

/** PeerDirectory over two KV buckets. */
export class NatsDirectory implements PeerDirectory {
  /** Instances seen alive, and when (checks are cached briefly: lookups are per relayed frame). */
  readonly #alive = new Map<string, { alive: boolean; at: number }>();
  /** This instance's claims: the epoch handed out, the key's current revision, when last written. */
  readonly #own = new Map<string, { epoch: number; rev: number; at: number; value: string }>();
  readonly #aliveCacheMs: number;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly instances: KV,
    private readonly peers: KV,
    readonly instance: string,
    timing: DirectoryTiming,
  ) {
    this.#aliveCacheMs = Math.min(1000, Math.floor(timing.heartbeatMs / 2));
  }

  /** Rewrites this instance's key (and refreshes its oldest entries). */
  async heartbeat(): Promise<boolean> {
    const prev = await this.instances.get(this.instance);
    await this.instances.put(this.instance, String(Date.now()));
    await this.#refresh();
    return prev?.operation === 'PUT';
  }

  /** Compare-and-set claim. */
  async claim(req: ClaimRequest): Promise<ClaimResult> {
    const key = keyOf(req.peer);
    const value = JSON.stringify({ i: this.instance, t: req.tokenHash, k: req.keyed } satisfies Entry);
    for (let attempt = 0; attempt < 5; attempt++) {
      const e = await this.peers.get(key);
      let previous: string | null = null;
      let rev: number;
      try {
        if (!e || e.operation !== 'PUT') {
          rev = await this.peers.create(key, value);
        } else {
          const held = e.json<Entry>();
          const alive = await this.#isAlive(held.i);
          if (alive && !req.keyed && held.t !== req.tokenHash) return { ok: false, holder: held.i };
          rev = await this.peers.update(key, value, e.revision);
          if (alive && held.i !== this.instance) previous = held.i;
        }
      } catch {
        continue; // another claim wrote the key between our read and write: read again
      }
      this.#own.set(req.peer, { epoch: rev, rev, at: Date.now(), value });
      return { ok: true, epoch: rev, previous };
    }
    throw new Error(`Cannot claim peer ${req.peer} as concurrent claims kept winning: current attempts are 5`);
  }

  /** Deletes the claim if it is still the current one. */
  async release(peer: string, epoch: number): Promise<void> {
    const own = this.#own.get(peer);
    if (!own || own.epoch !== epoch) return;
    this.#own.delete(peer);
    await this.peers.delete(keyOf(peer), { previousSeq: own.rev }).catch(() => {});
  }

  /** The live holder of `peer`, or null. */
  async lookup(peer: string): Promise<string | null> {
    const e = await this.peers.get(keyOf(peer));
    if (!e || e.operation !== 'PUT') return null;
    const held = e.json<Entry>();
    return (await this.#isAlive(held.i)) ? held.i : null;
  }

  /** Removes this instance's key: all its entries stop resolving at once. */
  async leave(): Promise<void> {
    await this.instances.delete(this.instance);
    await Promise.all([...this.#own].map(([peer, o]) => this.peers.delete(keyOf(peer), { previousSeq: o.rev }).catch(() => {})));
    this.#own.clear();
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#closing ??= this.nc.close().catch(() => {});
  }

  async #isAlive(instance: string): Promise<boolean> {
    if (instance === this.instance) return true;
    const now = Date.now();
    const hit = this.#alive.get(instance);
    if (hit && now - hit.at < this.#aliveCacheMs) return hit.alive;
    const e = await this.instances.get(instance);
    const alive = e?.operation === 'PUT';
    this.#alive.delete(instance);
    this.#alive.set(instance, { alive, at: now });
    if (this.#alive.size > 1024) this.#alive.delete(this.#alive.keys().next().value!);
    return alive;
  }

  async #refresh(): Promise<void> {
    const stale = Date.now() - PEER_ENTRY_MAX_AGE_MS / 3;
    let n = 0;
    for (const [peer, own] of this.#own) {
      if (own.at > stale || n++ >= REFRESH_PER_BEAT) continue;
      try {
        own.rev = await this.peers.update(keyOf(peer), own.value, own.rev);
        own.at = Date.now();
      } catch {
        this.#own.delete(peer); // taken over meanwhile: the new holder's announcement closes our socket
      }
    }
  }
}

/** KV keys allow [-/_=.a-zA-Z0-9]: peer ids may hold spaces, which become '='. */
function keyOf(peer: string): string {
  return peer.replaceAll(' ', '=');
}
