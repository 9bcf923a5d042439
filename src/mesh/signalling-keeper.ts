/**
 * Keeps a peerjs Peer on signalling: after its socket drops it reconnects with a fresh one-time token (bounded,
 * with backoff), and `moveTo` moves it to another coordinator of the cluster. Data connections are peer to
 * peer and stay open throughout; only new dials and ICE restarts wait for signalling.
 *
 * peerjs 1.5 builds its socket's URL once, in `Peer._createServerConnection()`, from `options.host/port/path/
 * secure/key`, and `reconnect()` reuses that socket. Moving therefore needs the Peer disconnected, its options
 * pointed at the new coordinator and a new server connection in place of the old one before `reconnect()`
 * (`pointSignallingAt`). Only types come from peerjs here, so this file also runs under Deno's tests.
 */
import type { Peer } from 'peerjs';
import { type Identity, signallingToken } from '../core/identity.ts';
import { MeshError } from '../protocol/errors.ts';
import { fetchSignallingNonce, type MeshConfig, peerOptions } from './config.ts';
import { backoffMs } from './coordinator-list.ts';
import type { ReconnectPolicy } from './peer-network.ts';

/** Milliseconds one reconnect may wait for the server's OPEN. */
const OPEN_TIMEOUT_MS = 10_000;

/** The peerjs 1.5 internals a move replaces (see the header). */
interface PeerInternals {
  _socket?: { removeAllListeners(): unknown; close(): void };
  _createServerConnection?: () => { removeAllListeners(): unknown; close(): void };
}

/** Where a Peer's signalling socket connects, as peerjs keeps it in its options (path with both slashes). */
function signallingTarget(base: string | URL, config: MeshConfig): { host: string; port: number; secure: boolean; path: string; key: string } {
  const { host, port, secure, path, key } = peerOptions(base, config, '');
  return { host, port, secure, key, path: `/${path.replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/') };
}

/**
 * Points a disconnected Peer's signalling at the coordinator `base`: updates its options and, if they changed,
 * replaces its server connection. Returns whether it changed anything.
 */
export function pointSignallingAt(peer: Peer, base: string | URL, config: MeshConfig): boolean {
  const target = signallingTarget(base, config);
  const options = peer.options as unknown as Record<string, unknown>;
  if (Object.entries(target).every(([k, v]) => options[k] === v)) return false;
  if (!peer.disconnected) throw new Error(`Cannot move the signalling of ${peer.id ?? 'a peer'} as it is still connected: current server is ${String(options['host'])}:${String(options['port'])}`);
  const inner = peer as unknown as PeerInternals;
  if (typeof inner._createServerConnection !== 'function' || inner._socket === undefined) {
    throw new Error('Cannot move peerjs signalling as this peerjs version lacks _createServerConnection/_socket: current version is not 1.5');
  }
  Object.assign(options, target);
  inner._socket.removeAllListeners();
  inner._socket.close();
  inner._socket = inner._createServerConnection();
  return true;
}

/**
 * Reconnects a disconnected Peer to the signalling of the coordinator `base` (the one it used or another of
 * the cluster) with a fresh one-time token, as a used one is refused.
 */
export async function reconnectSignalling(peer: Peer, base: string | URL, config: MeshConfig, identity: Identity): Promise<void> {
  const token = await signallingToken(identity, await fetchSignallingNonce(base, config, identity.peerId));
  if (peer.destroyed) throw new MeshError('cancelled', `Cannot reconnect the signalling of ${identity.peerId} as its peer was destroyed`);
  pointSignallingAt(peer, base, config);
  peer.options.token = token;
  peer.reconnect();
}

/** Resolves true when the Peer opens, false when it drops again or `timeoutMs` passes. */
function opened(peer: Peer, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const done = (v: boolean) => {
      clearTimeout(timer);
      peer.off('open', onOpen);
      peer.off('disconnected', onDown);
      resolve(v);
    };
    const onOpen = () => done(true);
    const onDown = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    peer.on('open', onOpen);
    peer.on('disconnected', onDown);
  });
}

/** Keeps one Peer on the signalling of the coordinator in use; see the header. */
export class SignallingKeeper {
  readonly #peer: Peer;
  readonly #identity: Identity;
  readonly #config: MeshConfig;
  readonly #policy: ReconnectPolicy;
  readonly #onGiveUp: (error: Error) => void;
  readonly #onDisconnected = (): void => void this.#run();
  #base: string;
  #running = false;
  #disposed = false;
  /** Set by `moveTo`: the next try goes at once, with the whole budget again. */
  #moved = false;
  #wake: (() => void) | undefined;

  /** Watches `peer` (open at `base`); `onGiveUp` hears when every reconnect failed. */
  constructor(peer: Peer, base: string, identity: Identity, config: MeshConfig, policy: ReconnectPolicy, onGiveUp: (error: Error) => void) {
    this.#peer = peer;
    this.#base = base;
    this.#identity = identity;
    this.#config = config;
    this.#policy = policy;
    this.#onGiveUp = onGiveUp;
    peer.on('disconnected', this.#onDisconnected);
  }

  /** Base URL of the coordinator whose signalling the Peer uses (or is reconnecting to). */
  get base(): string {
    return this.#base;
  }

  /** Moves the Peer's signalling to the coordinator at `base` (at once; a reconnect under way turns there). */
  moveTo(base: string): void {
    if (this.#disposed || this.#peer.destroyed || base === this.#base) return;
    this.#base = base;
    this.#moved = true;
    if (this.#running) this.#wake?.();
    else if (this.#peer.disconnected) void this.#run();
    else this.#peer.disconnect(); // its 'disconnected' event starts the reconnect
  }

  /** Stops watching; a reconnect under way ends at its next step. */
  dispose(): void {
    this.#disposed = true;
    this.#peer.off('disconnected', this.#onDisconnected);
    this.#wake?.();
  }

  async #run(): Promise<void> {
    if (this.#running || this.#disposed || this.#peer.destroyed) return;
    this.#running = true;
    try {
      for (let attempt = 0; attempt < this.#policy.attempts; attempt++) {
        if (!this.#moved) await this.#sleep(backoffMs(attempt, this.#policy));
        if (this.#moved) {
          this.#moved = false;
          attempt = 0;
        }
        if (this.#disposed || this.#peer.destroyed) return;
        const target = this.#base;
        const ok = await reconnectSignalling(this.#peer, target, this.#config, this.#identity).then(() => opened(this.#peer, OPEN_TIMEOUT_MS), () => false);
        if (ok && target === this.#base) return;
        // Failed, or opened at a coordinator the session has since left: drop it and try again.
        if (!this.#peer.disconnected && !this.#peer.destroyed) this.#peer.disconnect();
      }
      if (!this.#disposed && !this.#peer.destroyed) {
        this.#onGiveUp(new MeshError('transfer-failed', `Cannot reconnect to signalling at ${this.#base} after ${this.#policy.attempts} attempts`));
      }
    } finally {
      this.#running = false;
      this.#wake = undefined;
    }
  }

  /** Waits `ms`, or less if `moveTo` or `dispose` wakes it. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
