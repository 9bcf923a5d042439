/**
 * One mesh API WebSocket. The server speaks first with a `challenge`; the peer proves its key with `auth`;
 * then every request gets exactly one `ok` or `error` with its `rid`. Requests of one session run one at a
 * time, in order, so a peer never races itself (register then state, receipt then cancel). A bad frame gets
 * an `error` naming the field and the session carries on; only a failed `auth` closes it.
 */
import {
  authMessage,
  type ClientFrame,
  KEYED_PEER_ID,
  parseClientFrame,
  type ServerFrame,
} from '../../src/protocol/coordinator.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/version.ts';
import { MeshError, toWireError, type WireError } from '../../src/protocol/errors.ts';
import { parseJson, ValidationError } from '../../src/protocol/validate.ts';
import { peerIdFromPublicKey, verifySignature } from '../../src/core/identity.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/encoding.ts';
import { TokenBucket } from '../limits/token-bucket.ts';
import { networkOf } from '../limits/network.ts';
import type { AccountGate } from '../limits/account-gate.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { type Caller, handle, type HandlerDeps } from './handlers.ts';
import { readSubmit } from './submit-frame.ts';
import type { SessionRegistry } from './sessions.ts';
import { setSocketLimits } from '../net/index.ts';

/** Largest mesh frame accepted after authentication: a submit of 10,000 shard specs fits, a flood does not. */
export const MAX_MESH_FRAME_CHARS = 8 * 1024 * 1024;
/** Largest frame accepted before authentication: the `auth` frame is a few hundred characters. */
export const MAX_AUTH_FRAME_CHARS = 2048;
/** Largest message the socket reads before `auth` succeeds; it refuses more with 1009, unbuffered. */
export const MAX_PREAUTH_FRAME_BYTES = 4096;
/** Characters per second a session may send, and the burst it may save up (a submit of 8 MiB fits the burst). */
export const BYTES_PER_SEC = 4 * 1024 * 1024;
export const BYTES_BURST = 16 * 1024 * 1024;
/** A peer that has not authenticated by then is disconnected. */
export const AUTH_TIMEOUT_MS = 30_000;

/** What a session needs. */
export interface SessionDeps extends HandlerDeps {
  sessions: SessionRegistry<MeshSession>;
  metrics: Metrics;
  log: Logger;
  feeRate: number;
  leaseMs: number;
  ratePerSec: number;
  rateBurst: number;
  /** Starter grants per network and UTC day (loopback is not limited). */
  grantsPerNetworkDay: number;
  /** Gate on new accounts per address. */
  accounts: AccountGate;
  /** Mints the TURN relay entry handed to a peer in each `welcome` (absent: no relay). */
  turn?: { mint(peerId: string): Promise<RTCIceServer> };
  /** Cluster: runs after a peer authenticated, before its `welcome` (its jobs move to this instance). */
  arrived?: (peerId: string) => Promise<void>;
}

/** A mesh API session over one WebSocket. */
export class MeshSession {
  #caller: Caller | undefined;
  #nonce = toBase64Url(crypto.getRandomValues(new Uint8Array(24)));
  #queue: Promise<void> = Promise.resolve();
  #bucket: TokenBucket;
  #bytes = new TokenBucket(BYTES_PER_SEC, BYTES_BURST);
  readonly #network: string;
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  #replaced = false;
  #authing = false;

  constructor(private readonly socket: WebSocket, private readonly deps: SessionDeps, private readonly addr: string) {
    this.#bucket = new TokenBucket(deps.ratePerSec, deps.rateBurst);
    this.#network = networkOf(addr);
    socket.onopen = () => {
      this.send({ type: 'challenge', v: PROTOCOL_VERSION, nonce: this.#nonce });
      this.#authTimer = setTimeout(() => this.close(4001, 'authentication timed out'), AUTH_TIMEOUT_MS);
    };
    socket.onmessage = (ev) => this.#onMessage(ev.data);
    socket.onclose = () => this.#onClose();
  }

  /** The authenticated peer id (undefined before `auth`). */
  get peerId(): string | undefined {
    return this.#caller?.peerId;
  }

  /** Sends a frame; false when the socket is not open or the send closed it (a slow reader past its buffer cap). */
  send(frame: ServerFrame): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return this.socket.readyState === WebSocket.OPEN;
    } catch {
      return false;
    }
  }

  /** Closes the socket. */
  close(code: number, reason: string): void {
    try {
      if (this.socket.readyState <= WebSocket.OPEN) this.socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  /** Marks the session as superseded by a newer one of the same peer, and closes it. */
  replace(): void {
    this.#replaced = true;
    this.close(4000, 'replaced by a newer session');
  }

  #onMessage(data: unknown): void {
    this.deps.metrics.inc('frames', 'mesh');
    if (!this.#caller) return this.#beforeAuth(data);
    if (typeof data !== 'string') return this.#error(undefined, new MeshError('invalid-message', 'Cannot accept a binary frame: the mesh API speaks JSON text'));
    if (data.length > MAX_MESH_FRAME_CHARS) {
      return this.#error(undefined, new MeshError('too-large', `Cannot accept a frame of ${data.length} characters: the limit is ${MAX_MESH_FRAME_CHARS}`));
    }
    if (!this.#bucket.take() || !this.#bytes.take(data.length)) {
      return this.#error(ridOf(data), new MeshError('rate-limited', `Cannot accept more than ${this.deps.ratePerSec} frames or ${BYTES_PER_SEC} characters per second`));
    }
    let raw: unknown;
    try {
      raw = parseJson(data, MAX_MESH_FRAME_CHARS);
    } catch (err) {
      return this.#error(undefined, err);
    }
    const caller = this.#caller;
    // A submit is validated a slice at a time (submit-frame.ts); every other frame is small.
    const read: Promise<{ frame: ClientFrame; canonical?: string }> = (raw as { type?: unknown } | null)?.type === 'submit'
      ? readSubmit(raw)
      : Promise.resolve().then(() => ({ frame: parseClientFrame(raw) }));
    this.#queue = this.#queue.then(async () => {
      let frame: ClientFrame;
      let canonical: string | undefined;
      try {
        ({ frame, canonical } = await read);
      } catch (err) {
        return this.#error(ridOf(raw), err);
      }
      if (frame.type === 'auth') return this.#error(undefined, new MeshError('conflict', `Cannot authenticate again as this session is ${caller.peerId}`));
      try {
        const result = await handle(this.deps, caller, frame, data.length, canonical);
        this.send(result === undefined ? { type: 'ok', rid: frame.rid } : { type: 'ok', rid: frame.rid, result });
      } catch (err) {
        this.#error(frame.rid, err);
      }
    });
  }

  /**
   * Before authentication only one small `auth` frame is read: anything else, or anything larger, closes the
   * session without parsing it, so a stranger cannot make the coordinator work before proving a key.
   */
  #beforeAuth(data: unknown): void {
    if (this.#authing) return this.close(4001, 'one auth frame at a time');
    if (typeof data !== 'string' || data.length > MAX_AUTH_FRAME_CHARS) {
      this.#error(undefined, new MeshError('unauthorized', `Cannot accept a frame before 'auth' larger than ${MAX_AUTH_FRAME_CHARS} characters or binary`));
      return this.close(4001, 'authenticate first');
    }
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(parseJson(data, MAX_AUTH_FRAME_CHARS));
    } catch (err) {
      this.#error(undefined, err);
      return this.close(4001, 'authenticate first');
    }
    if (frame.type !== 'auth') {
      this.#error(frame.rid, new MeshError('unauthorized', `Cannot handle '${frame.type}' before 'auth'`));
      return this.close(4001, 'authenticate first');
    }
    this.#authing = true;
    this.#auth(frame).catch((err) => this.#error(undefined, err)).finally(() => (this.#authing = false));
  }

  async #auth(f: ClientFrame & { type: 'auth' }): Promise<void> {
    if (f.v !== PROTOCOL_VERSION) {
      this.#error(undefined, new MeshError('unsupported-version', `Cannot speak protocol version ${f.v}: this coordinator speaks ${PROTOCOL_VERSION}`));
      return this.close(4002, 'unsupported version');
    }
    const reason = await this.#checkAuth(f);
    if (reason) {
      this.deps.log.info('mesh auth refused', { peerId: f.peerId, reason });
      this.#error(undefined, new MeshError('unauthorized', reason));
      return this.close(4001, 'unauthorized');
    }
    if (!(await this.deps.ledger.exists(f.peerId)) && !this.deps.accounts.allow(this.addr)) {
      this.deps.metrics.inc('errors', 'new-account-rate');
      this.#error(undefined, new MeshError('rate-limited', `Cannot create a new account from ${this.addr}: too many new accounts from this address, try again in a minute`));
      return this.close(4003, 'too many new accounts');
    }
    clearTimeout(this.#authTimer);
    const perDay = this.#network === 'loopback' ? Infinity : this.deps.grantsPerNetworkDay;
    const { balance, created, granted } = await this.deps.ledger.ensureAccount(f.peerId, { network: this.#network, perDay });
    this.deps.metrics.inc('ledger_ops', 'ensure-account');
    if (created) this.deps.log.info('account created', { peerId: f.peerId, network: this.#network, granted });
    const ice = this.deps.turn ? { iceServers: [await this.deps.turn.mint(f.peerId)] } : {};
    // Closed while we waited: binding now would leave a dead session registered (onclose already ran).
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.#caller = { peerId: f.peerId, publicKey: f.publicKey, network: this.#network };
    const old = this.deps.sessions.bind(f.peerId, this);
    if (old) {
      old.replace();
      // The old page's in-flight work is gone with it; its jobs stay, as the client came back.
      this.deps.market.unregister(f.peerId, false);
    }
    // Authenticated: full-size requests (a submit of 10,000 shards) may come now, and right after `welcome`.
    setSocketLimits(this.socket, { maxMessageBytes: MAX_MESH_FRAME_CHARS });
    if (this.deps.arrived) {
      await this.deps.arrived(f.peerId).catch((err) => this.deps.log.error('moving a client\'s jobs here failed', { peerId: f.peerId, err }));
      if (this.socket.readyState !== WebSocket.OPEN) return;
    }
    this.deps.market.schedule(); // its jobs, if it is a client, may be matched again
    this.send({ type: 'welcome', peerId: f.peerId, balance, feeRate: this.deps.feeRate, leaseMs: this.deps.leaseMs, ...ice });
  }

  async #checkAuth(f: ClientFrame & { type: 'auth' }): Promise<string | null> {
    if (!KEYED_PEER_ID.test(f.peerId)) return `Cannot authenticate ${f.peerId} as mesh peers need a keyed id (mw + 40 hex digits)`;
    let raw: Uint8Array;
    try {
      raw = fromBase64Url(f.publicKey);
      if ((await peerIdFromPublicKey(raw)) !== f.peerId) return `Cannot authenticate ${f.peerId} as the public key derives another id`;
    } catch {
      return `Cannot authenticate ${f.peerId} as 'publicKey' is not a raw 32-byte Ed25519 key`;
    }
    if (!(await verifySignature(f.publicKey, authMessage(this.#nonce, f.peerId), f.signature))) {
      return `Cannot authenticate ${f.peerId} as the signature over the challenge does not verify`;
    }
    return null;
  }

  #error(rid: number | undefined, err: unknown): void {
    this.deps.metrics.inc('errors', 'mesh');
    const wire: WireError = err instanceof RangeError && !(err instanceof ValidationError)
      ? { name: err.name, code: 'invalid-message', message: err.message }
      : toWireError(err);
    if (wire.code === 'internal') this.deps.log.error('mesh request failed', { peerId: this.peerId, err });
    this.send(rid === undefined ? { type: 'error', error: wire } : { type: 'error', rid, error: wire });
  }

  #onClose(): void {
    clearTimeout(this.#authTimer);
    const peerId = this.#caller?.peerId;
    if (!peerId || this.#replaced) return;
    if (this.deps.sessions.unbind(peerId, this)) {
      this.deps.market.peerGone(peerId).catch((err) => this.deps.log.error('peer cleanup failed', { peerId, err }));
      this.deps.serving.peerGone(peerId).catch((err) => this.deps.log.error('serving cleanup failed', { peerId, err }));
    }
  }
}

/** The request id of a frame that failed validation, when it has a usable one. */
function ridOf(raw: unknown): number | undefined {
  if (typeof raw === 'string') {
    if (raw.length > 65536) return undefined; // not worth parsing a huge frame only to name its rid
    try {
      raw = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const rid = typeof raw === 'object' && raw !== null ? (raw as { rid?: unknown }).rid : undefined;
  return typeof rid === 'number' && Number.isSafeInteger(rid) && rid >= 0 ? rid : undefined;
}
