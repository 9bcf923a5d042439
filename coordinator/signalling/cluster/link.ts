/**
 * The signalling server's cluster link: relays frames to peers held by other instances over the bus, with the
 * directory (directory.ts) saying where each id is held.
 *
 * - Relay: a frame whose `dst` is not connected here is looked up (a short-lived route cache first, filled by
 *   lookups and `opened` announcements) and published to the holder's subject; the holder delivers it with the
 *   `src` this instance forced. Frames to one destination wait behind its lookup, so they keep their order.
 *   A holder that no longer has the peer looks it up again (at most MAX_HOPS relays in all).
 * - Nowhere: exactly the single-instance rules: queued here (realm.ts caps), EXPIRE to the sender after
 *   `expireMs` or at once when a cap is hit; LEAVE and EXPIRE are never queued. When the id opens on some
 *   instance, its `opened` announcement makes every instance forward what it queued for it.
 * - Ids: a connection claims its id in the directory before OPEN. Held elsewhere by a live instance with
 *   another token: ID-TAKEN, unless keyed (a fresh proof of the key takes over; the old holder hears the
 *   newer epoch and closes its socket, 4000). Same token: takeover too (a client reconnecting elsewhere).
 * - Liveness: heartbeats every `heartbeatMs`; a missed TTL (the directory dropped our entries) re-claims every
 *   local peer. A dead instance stops resolving after `ttlMs` (routes cached for at most one heartbeat more);
 *   frames sent to it before then are lost.
 * Bounds: route cache, lookups in flight and their frames, the bus's queues, MAX_PEERS per instance and
 * CLAIMS_PER_SEC directory claims. Frame rate limits are the server's, applied before a frame reaches `route`.
 */
import type { Bus, BusMessage, BusSubscription } from '../../bus/index.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../metrics.ts';
import type { SignalClient } from '../realm.ts';
import { type DirectoryTiming, hashToken, type PeerDirectory } from './directory.ts';
import { checkEnvelope, ENVELOPE_VERSION, type Envelope, instanceSubject, MAX_HOPS, type PeerEnvelope, PEERS_SUBJECT, type RoutedSignal } from './envelope.ts';
import type { ClaimVerdict, LocalSignalling, SignallingCluster } from './port.ts';
import { ROUTE_TTL_MS, RouteCache } from './_routes.ts';
import { TokenBucket } from '../../limits/token-bucket.ts';

/** Peers one instance holds at most (the directory's share of this instance). */
export const MAX_PEERS = 100_000;
/** Directory claims per second one instance makes, and the burst: connection churn cannot flood the store. */
export const CLAIMS_PER_SEC = 500;
const CLAIMS_BURST = 2_000;

/** What a link needs. */
export interface LinkOptions {
  instance: string;
  bus: Bus;
  directory: PeerDirectory;
  timing: DirectoryTiming;
  metrics: Metrics;
  log: Logger;
  maxPeers?: number;
}

/** The cluster side of one signalling server. */
export class ClusterLink implements SignallingCluster {
  readonly instance: string;
  #server: LocalSignalling | undefined;
  readonly #claims = new WeakMap<SignalClient, { epoch: number; tokenHash: string }>();
  readonly #routes: RouteCache;
  readonly #claimRate = new TokenBucket(CLAIMS_PER_SEC, CLAIMS_BURST);
  readonly #subs: BusSubscription[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #beating = false;
  #stopped = false;

  private constructor(private readonly o: LinkOptions) {
    this.instance = o.instance;
    this.#routes = new RouteCache((dst) => this.o.directory.lookup(dst), Math.min(ROUTE_TTL_MS, o.timing.heartbeatMs));
  }

  /** Subscribes, heartbeats once, and starts the heartbeat timer. */
  static async start(o: LinkOptions): Promise<ClusterLink> {
    const link = new ClusterLink(o);
    link.#subs.push(await o.bus.subscribe(instanceSubject(o.instance), (m) => link.#onMessage(m)));
    link.#subs.push(await o.bus.subscribe(PEERS_SUBJECT, (m) => link.#onMessage(m)));
    await o.directory.heartbeat();
    link.#timer = setInterval(() => void link.#beat(), o.timing.heartbeatMs);
    return link;
  }

  /** The bus this link talks over (the market's cluster link shares it). */
  get bus(): Bus {
    return this.o.bus;
  }

  /** Binds the server. */
  attach(server: LocalSignalling): void {
    this.#server = server;
  }

  /** Claims the id in the directory. */
  async claim(client: SignalClient): Promise<ClaimVerdict> {
    if (this.#stopped) return { error: 'Cannot accept id as this instance is leaving the cluster' };
    const held = this.#local().realm.clients.size;
    const max = this.o.maxPeers ?? MAX_PEERS;
    if (held >= max) return { error: `Cannot accept id as this instance holds ${held} peers: current cap is ${max}` };
    if (!this.#claimRate.take()) return { error: `Cannot accept id as this instance claims more than ${CLAIMS_PER_SEC} ids per second: try again shortly` };
    const tokenHash = await hashToken(client.token);
    try {
      const r = await this.o.directory.claim({ peer: client.id, tokenHash, keyed: client.keyed });
      if (!r.ok) {
        this.o.metrics.inc('cluster_frames', 'id-taken');
        return 'taken';
      }
      if (r.previous) this.o.metrics.inc('cluster_frames', 'takeover');
      this.#claims.set(client, { epoch: r.epoch, tokenHash });
      return 'ok';
    } catch (err) {
      this.#fail('directory', `Cannot claim ${client.id}: ${(err as Error).message}`);
      return { error: `Cannot accept id as the cluster directory did not answer: ${(err as Error).message}` };
    }
  }

  /** Announces the open: older holders close, queues for it come here. */
  opened(client: SignalClient): void {
    const c = this.#claims.get(client);
    if (c) this.#announce('opened', client.id, c.epoch);
  }

  /** Releases the directory entry of a client that is gone. */
  release(client: SignalClient): void {
    const c = this.#claims.get(client);
    if (!c || this.#stopped) return;
    this.#claims.delete(client);
    this.o.directory.release(client.id, c.epoch).catch((err) => this.#fail('directory', `Cannot release ${client.id}: ${err.message}`));
    this.#announce('closed', client.id, c.epoch);
  }

  /** Sends a frame for a peer not connected here. */
  route(frame: RoutedSignal, hops = 0): void {
    if (this.#stopped) return this.#nowhere(frame);
    const waiting = this.#routes.resolve(frame.dst, (instance, err) => {
      if (err) this.#fail('directory', `Cannot look up ${frame.dst}: ${err.message}`);
      if (!this.#stopped) this.#deliverVia(instance, frame, hops);
    });
    if (!waiting) this.#nowhere(frame);
  }

  /** Leaves the cluster cleanly: entries removed at once, connections closed. */
  async close(): Promise<void> {
    if (this.#stopped) return;
    this.#stop();
    await this.o.directory.leave().catch((err) => this.o.log.warn('cluster leave failed', { err: String(err) }));
    await this.#disconnect();
  }

  /** Stops as a crash would (for tests): no goodbye, entries left to expire with the heartbeat. */
  async halt(): Promise<void> {
    if (this.#stopped) return;
    this.#stop();
    await this.#disconnect();
  }

  #stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  async #disconnect(): Promise<void> {
    await Promise.all(this.#subs.splice(0).map((s) => s.unsubscribe().catch(() => {})));
    await this.o.bus.close();
    await this.o.directory.close();
  }

  #local(): LocalSignalling {
    if (!this.#server) throw new Error('Cannot use the cluster link as no signalling server is attached');
    return this.#server;
  }

  /** Where a looked-up frame goes: here, to `instance`, or nowhere. */
  #deliverVia(instance: string | null, frame: RoutedSignal, hops: number): void {
    const server = this.#local();
    if (server.deliverLocal(frame)) return; // it connected here meanwhile
    if (instance === null || instance === this.instance || hops >= MAX_HOPS) return this.#nowhere(frame);
    let sent = false;
    try {
      sent = this.o.bus.publishJson(instanceSubject(instance), { v: ENVELOPE_VERSION, k: 'relay', from: this.instance, hops: hops + 1, frame });
    } catch (err) {
      this.#fail('envelope', `Cannot relay to ${instance}: ${(err as Error).message}`);
    }
    if (sent) this.o.metrics.inc('cluster_frames', 'forwarded');
    else this.#nowhere(frame);
  }

  /** The single-instance rules for a destination that is nowhere: queue, or EXPIRE to the sender. */
  #nowhere(frame: RoutedSignal): void {
    if (frame.type === 'LEAVE' || frame.type === 'EXPIRE') return;
    const server = this.#local();
    if (server.realm.enqueue(frame.dst, frame.src, frame, Date.now())) return;
    const expire: RoutedSignal = { type: 'EXPIRE', src: frame.dst, dst: frame.src };
    if (!server.deliverLocal(expire) && !this.#stopped) this.route(expire);
  }

  #onMessage(m: BusMessage): void {
    if (this.#stopped) return;
    let env: Envelope;
    try {
      env = checkEnvelope(m.json());
    } catch (err) {
      return this.#fail('envelope', (err as Error).message);
    }
    if (env.k === 'relay') {
      this.o.metrics.inc('cluster_frames', 'received');
      if (!this.#local().deliverLocal(env.frame)) this.route(env.frame, env.hops);
      return;
    }
    if (env.from !== this.instance) this.#onPeer(env);
  }

  #onPeer(env: PeerEnvelope): void {
    if (env.k === 'closed') return this.#routes.forget(env.peer, env.from);
    this.#routes.learn(env.peer, env.from);
    const server = this.#local();
    const local = server.realm.clients.get(env.peer);
    const mine = local && this.#claims.get(local);
    if (local && mine && mine.epoch < env.epoch) {
      this.#claims.delete(local); // the directory entry is the newer holder's now: nothing to release
      server.evict(env.peer, 4000, 'replaced by a new connection');
      this.o.metrics.inc('cluster_frames', 'evicted');
    }
    for (const text of server.realm.drain(env.peer)) this.#deliverVia(env.from, JSON.parse(text) as RoutedSignal, 0);
  }

  #announce(k: 'opened' | 'closed', peer: string, epoch: number): void {
    const env: PeerEnvelope = { v: ENVELOPE_VERSION, k, from: this.instance, peer, epoch };
    if (!this.o.bus.publishJson(PEERS_SUBJECT, env)) this.#fail('publish', `Cannot announce ${k} ${peer}`);
  }

  async #beat(): Promise<void> {
    if (this.#beating || this.#stopped) return;
    this.#beating = true;
    try {
      const wasAlive = await this.o.directory.heartbeat();
      if (!wasAlive && !this.#stopped) await this.#reclaimAll();
    } catch (err) {
      this.#fail('directory', `Cannot heartbeat: ${(err as Error).message}`);
    } finally {
      this.#beating = false;
    }
  }

  /** After a missed TTL the directory dropped our entries: claim every local peer again. */
  async #reclaimAll(): Promise<void> {
    const server = this.#local();
    this.o.log.warn('cluster heartbeat lapsed: claiming local peers again', { peers: server.realm.clients.size });
    for (const client of [...server.realm.clients.values()]) {
      const c = this.#claims.get(client);
      if (!c) continue;
      const r = await this.o.directory.claim({ peer: client.id, tokenHash: c.tokenHash, keyed: client.keyed });
      if (server.realm.clients.get(client.id) !== client) continue;
      if (r.ok) {
        this.#claims.set(client, { epoch: r.epoch, tokenHash: c.tokenHash });
        this.#announce('opened', client.id, r.epoch);
      } else {
        this.#claims.delete(client);
        server.evict(client.id, 4000, 'replaced by a new connection');
      }
    }
  }

  #fail(kind: 'directory' | 'envelope' | 'publish', detail: string): void {
    this.o.metrics.inc('bus_errors', kind);
    this.o.log.debug('cluster error', { kind, detail });
  }
}
