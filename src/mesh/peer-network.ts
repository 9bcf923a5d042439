/**
 * All of this page's peer links: dials (or reuses) a link to a remote peer, accepts incoming ones, and keeps
 * the signalling connection alive (signalling-keeper.ts: a fresh token on every reconnect, bounded retries with
 * backoff, `moveTo` another coordinator of the cluster while links stay open).
 * Events: `link` (CustomEvent<PeerLink>, every new link, either direction), `shard`
 * (CustomEvent<ShardRequest>, from any link), `pull` (CustomEvent<PullRequest>, likewise), `infer` (CustomEvent<InferRequest>, likewise),
 * `close` (CustomEvent<{ error?: Error }>, signalling is gone).
 */
import type { DataConnection, Peer, PeerError } from 'peerjs';
import type { Identity } from '../core/identity.ts';
import { MeshError } from '../protocol/errors.ts';
import type { MeshConfig } from './config.ts';
import { IceWatch } from './ice-watch.ts';
import { loopbackPair } from './loopback.ts';
import { type InferRequest, PeerLink, type PullRequest, type ShardRequest } from './peer-link.ts';
import { isFatalPeerError, openSignalling } from './signalling.ts';
import { SignallingKeeper } from './signalling-keeper.ts';

/** How signalling reconnects are spaced: attempts, first delay and cap in ms. */
export interface ReconnectPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

const DEFAULT_RECONNECT: ReconnectPolicy = { attempts: 6, baseMs: 250, maxMs: 8000 };

/** Options of `PeerNetwork.open`. */
export interface PeerNetworkOptions {
  reconnect?: Partial<ReconnectPolicy>;
  /** ICE settings of new connections (default: the config's iceServers); see `setRtcConfiguration`. */
  rtc?: RTCConfiguration;
  /** Milliseconds a connected link may stay ICE-disconnected or failed before it is closed (ice-watch.ts). */
  iceDeadMs?: number;
}

/** Peer links of one identity. */
export class PeerNetwork extends EventTarget {
  readonly peer: Peer;
  readonly #identity: Identity;
  readonly #links = new Map<string, Set<PeerLink>>();
  readonly #dialing = new Map<string, Promise<PeerLink>>();
  readonly #dialFailures = new Map<string, (err: Error) => void>();
  readonly #keeper: SignallingKeeper;
  readonly #iceDeadMs: number | undefined;
  #closed = false;

  private constructor(peer: Peer, identity: Identity, policy: ReconnectPolicy, base: string, config: MeshConfig, iceDeadMs: number | undefined) {
    super();
    this.#iceDeadMs = iceDeadMs;
    this.peer = peer;
    this.#identity = identity;
    this.#keeper = new SignallingKeeper(peer, base, identity, config, policy, (error) => this.close(error));
    peer.on('connection', (conn) => void this.#accept(conn));
    peer.on('error', (err) => this.#onError(err));
    peer.on('close', () => this.close(new MeshError('transfer-failed', 'Cannot signal as the peer was destroyed')));
  }

  /** Opens signalling for this identity at the coordinator `base`. */
  static async open(base: string | URL, identity: Identity, config: MeshConfig, opts: PeerNetworkOptions = {}): Promise<PeerNetwork> {
    const peer = await openSignalling(base, identity, config, undefined, opts.rtc);
    return new PeerNetwork(peer, identity, { ...DEFAULT_RECONNECT, ...opts.reconnect }, String(base).replace(/\/+$/, ''), config, opts.iceDeadMs);
  }

  /** Base URL of the coordinator whose signalling this network uses (or is reconnecting to). */
  get base(): string {
    return this.#keeper.base;
  }

  /**
   * Moves signalling to another coordinator of the cluster (the session's client moved there): a fresh token
   * from it, then reconnect there. Open links are peer to peer and stay open; reconnects after a later drop
   * go there too.
   */
  moveTo(base: string): void {
    if (!this.#closed) this.#keeper.moveTo(base);
  }

  /** ICE settings for connections made from now on (and for ICE restarts of existing ones): fresh TURN credentials. */
  setRtcConfiguration(rtc: RTCConfiguration): void {
    this.peer.options.config = rtc;
  }

  /** An open link to `remote`, reusing one in either direction, else dialing (at most one dial at a time). */
  link(remote: string, timeoutMs = 20_000): Promise<PeerLink> {
    if (this.#closed) return Promise.reject(new MeshError('transfer-failed', `Cannot link to ${remote} as the network is closed`));
    for (const l of this.#links.get(remote) ?? []) if (l.open) return Promise.resolve(l);
    let dial = this.#dialing.get(remote);
    if (!dial) {
      dial = this.#dial(remote, timeoutMs).finally(() => this.#dialing.delete(remote));
      this.#dialing.set(remote, dial);
    }
    return dial;
  }

  /** Open links to `remote`. */
  linksTo(remote: string): PeerLink[] {
    return [...(this.#links.get(remote) ?? [])].filter((l) => l.open);
  }

  /** Closes every link and the signalling connection. Idempotent. */
  close(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const set of this.#links.values()) for (const l of set) l.close(error);
    this.#links.clear();
    for (const fail of this.#dialFailures.values()) fail(error ?? new MeshError('cancelled', 'Cannot dial as the network closed'));
    this.#keeper.dispose();
    this.peer.destroy();
    this.dispatchEvent(new CustomEvent('close', { detail: { error } }));
  }

  async #dial(remote: string, timeoutMs: number): Promise<PeerLink> {
    if (remote === this.peer.id) {
      // A lease of our own job to ourselves: WebRTC cannot connect an id to itself, so link in memory.
      const [near, far] = loopbackPair(remote).map((conn) => new PeerLink(conn)) as [PeerLink, PeerLink];
      this.#add(far);
      this.#add(near);
      return near;
    }
    const conn = this.peer.connect(remote, { serialization: 'raw', reliable: true });
    if (!conn) throw new MeshError('transfer-failed', `Cannot dial ${remote} as signalling is disconnected`);
    // peerjs reports an unknown peer on the Peer, not on the connection: route that error to this dial.
    const unavailable = new Promise<never>((_, reject) => this.#dialFailures.set(remote, reject));
    unavailable.catch(() => {});
    const ice = this.#watchIce(conn, true);
    try {
      const link = await Promise.race([PeerLink.open(conn, timeoutMs, this.#identity), unavailable]);
      ice.bind(link);
      this.#add(link);
      return link;
    } catch (err) {
      ice.dispose();
      conn.close();
      throw err;
    } finally {
      this.#dialFailures.delete(remote);
    }
  }

  async #accept(conn: DataConnection): Promise<void> {
    if (conn.serialization !== 'raw') {
      conn.close(); // not one of ours: Meshwork links always use raw frames
      return;
    }
    const ice = this.#watchIce(conn, false);
    try {
      const link = await PeerLink.open(conn, 20_000, this.#identity);
      ice.bind(link);
      this.#add(link);
    } catch {
      // A connection that never opened has nothing to clean up beyond what PeerLink.open did.
      ice.dispose();
    }
  }

  /** Watches a connection's ICE state (restart once, close when dead); `bind` it to the link once open. */
  #watchIce(conn: DataConnection, dialer: boolean): { bind(link: PeerLink): void; dispose(): void } {
    const pc = conn.peerConnection as RTCPeerConnection | null | undefined;
    if (!pc) return { bind: () => {}, dispose: () => {} };
    let link: PeerLink | undefined;
    const watch = new IceWatch(pc, {
      dialer,
      connectionId: conn.connectionId,
      remote: conn.peer,
      signal: (message) => this.peer.socket.send({ ...message, dst: conn.peer }),
      onDead: (error) => (link ? link.close(error) : conn.close()),
      configuration: () => this.peer.options.config,
      ...(this.#iceDeadMs === undefined ? {} : { deadMs: this.#iceDeadMs }),
    });
    return {
      bind: (l) => {
        link = l;
        l.addEventListener('close', () => watch.dispose(), { once: true });
      },
      dispose: () => watch.dispose(),
    };
  }

  #add(link: PeerLink): void {
    if (this.#closed) {
      link.close();
      return;
    }
    let set = this.#links.get(link.remote);
    if (!set) this.#links.set(link.remote, (set = new Set()));
    set.add(link);
    const onShard = (e: Event) => this.dispatchEvent(new CustomEvent<ShardRequest>('shard', { detail: (e as CustomEvent<ShardRequest>).detail }));
    const onPull = (e: Event) => this.dispatchEvent(new CustomEvent<PullRequest>('pull', { detail: (e as CustomEvent<PullRequest>).detail }));
    const onInfer = (e: Event) => this.dispatchEvent(new CustomEvent<InferRequest>('infer', { detail: (e as CustomEvent<InferRequest>).detail }));
    link.addEventListener('shard', onShard);
    link.addEventListener('pull', onPull);
    link.addEventListener('infer', onInfer);
    link.addEventListener('close', () => {
      link.removeEventListener('shard', onShard);
      link.removeEventListener('pull', onPull);
      link.removeEventListener('infer', onInfer);
      set.delete(link);
      if (set.size === 0 && this.#links.get(link.remote) === set) this.#links.delete(link.remote);
    }, { once: true });
    this.dispatchEvent(new CustomEvent<PeerLink>('link', { detail: link }));
  }

  #onError(err: PeerError<string>): void {
    if (err.type === 'peer-unavailable') {
      const remote = /peer (\S+)$/.exec(err.message)?.[1];
      const fail = remote === undefined ? undefined : this.#dialFailures.get(remote);
      fail?.(new MeshError('transfer-failed', `Cannot link to ${remote} as it is not connected to signalling`));
      return;
    }
    if (isFatalPeerError(err.type) && this.peer.destroyed) {
      this.close(new MeshError('transfer-failed', `Cannot signal: ${err.type}: ${err.message}`));
    }
  }
}
