/**
 * PeerJS-protocol signalling, compatible with the stock `peerjs` 1.5 client: `GET {path}` (server info),
 * `GET {path}{key}/id` (fresh id), WebSocket `{path}peerjs?key=&id=&token=&version=`. Relays OFFER, ANSWER,
 * CANDIDATE, LEAVE and EXPIRE with `src` forced to the sender; queues for absent peers and EXPIREs after a
 * timeout; drops silent clients. Stricter than the reference server: keyed ids need a one-time proof of the
 * key (`GET {path}{key}/challenge?id=` gives the nonce, token.ts), every invalid frame gets an ERROR naming
 * the problem while the session goes on, each peer is rate limited in a way strangers cannot turn against an
 * honest peer (send-limits.ts), queues for absent peers are capped in messages and bytes, and a peer that
 * stops reading is closed once its socket's send buffer passes its cap. With a cluster link (cluster/), ids
 * are claimed cluster-wide before OPEN and frames for peers not connected here go through the link; without
 * one, nothing changes.
 */
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { isValidPeerId, MAX_FRAME_CHARS, parseSignalFrame, type ServerSignal, type SignalFrame } from './frames.ts';
import { Realm, type SignalClient } from './realm.ts';
import { isKeyedId, SignallingNonces } from './token.ts';
import { SendLimits } from './send-limits.ts';
import { json, jsonError } from '../http/headers.ts';
import { upgradeWebSocket } from '../net/index.ts';
import type { LocalSignalling, RoutedSignal, SignallingCluster } from './cluster/port.ts';

/**
 * Largest signalling message the socket reads: the most bytes MAX_FRAME_CHARS characters can take in UTF-8.
 * Frames up to that get a readable ERROR from parseSignalFrame; anything larger is refused (1009) unread.
 */
export const MAX_SIGNAL_MESSAGE_BYTES = 3 * MAX_FRAME_CHARS;

/** Signalling settings. */
export interface SignallingOptions {
  /** Mount path with leading and trailing slash, e.g. '/peerjs/'. */
  path: string;
  key: string;
  expireMs: number;
  aliveMs: number;
  ratePerSec: number;
  rateBurst: number;
}

/** What the signalling server needs from the rest of the coordinator (connection caps are the listener's). */
export interface SignallingDeps {
  metrics: Metrics;
  log: Logger;
  /** Admits a WebSocket from a client behind a trusted proxy (its own cap); null refuses. Default: admit. */
  admit?: (req: Request, addr: string) => (() => void) | null;
  /** Several instances: claims ids cluster-wide and relays frames for peers held elsewhere. */
  cluster?: SignallingCluster;
}

/** The PeerJS-compatible signalling server. */
export class SignallingServer implements LocalSignalling {
  readonly realm = new Realm();
  readonly #limits = new WeakMap<SignalClient, SendLimits>();
  readonly #nonces = new SignallingNonces();
  #timer: ReturnType<typeof setInterval>;

  constructor(readonly opts: SignallingOptions, private readonly deps: SignallingDeps) {
    if (!opts.path.startsWith('/') || !opts.path.endsWith('/')) {
      throw new TypeError(`Cannot mount signalling as 'path' must start and end with '/': current value is ${opts.path}`);
    }
    const tick = Math.max(10, Math.min(1000, Math.floor(opts.expireMs / 5)));
    this.#timer = setInterval(() => this.#sweep(), tick);
    deps.cluster?.attach(this);
  }

  /** Connected peers. */
  get peers(): number {
    return this.realm.clients.size;
  }

  /** Whether a request path belongs to signalling. */
  owns(pathname: string): boolean {
    return pathname === this.opts.path.slice(0, -1) || pathname.startsWith(this.opts.path);
  }

  /** Answers a request under the mount path. */
  async handle(req: Request, url: URL, addr: string): Promise<Response> {
    const rest = url.pathname === this.opts.path.slice(0, -1) ? '' : url.pathname.slice(this.opts.path.length);
    if (rest === '' && req.method === 'GET') {
      return json({ name: 'PeerJS Server', description: 'Meshwork signalling (PeerJS protocol)', website: 'https://peerjs.com/' });
    }
    if (rest === 'peerjs' && req.headers.get('upgrade')?.toLowerCase() === 'websocket') return await this.#connect(req, url, addr);
    const [key, method, extra] = rest.split('/');
    if (req.method === 'GET' && extra === undefined && method === 'challenge') {
      if (key !== this.opts.key) return jsonError(401, 'unauthorized', `Cannot serve a challenge as the key is not valid: current value is ${key}`);
      const id = url.searchParams.get('id') ?? '';
      if (!isKeyedId(id)) return jsonError(400, 'invalid-message', `Cannot serve a challenge as 'id' must be a keyed id (mw + 40 hex digits): current value is ${JSON.stringify(id.slice(0, 80))}`);
      return json({ nonce: await this.#nonces.issue(id) });
    }
    if (req.method === 'GET' && extra === undefined && (method === 'id' || method === 'peers')) {
      if (key !== this.opts.key) return jsonError(401, 'unauthorized', `Cannot serve ${method} as the key is not valid: current value is ${key}`);
      if (method === 'peers') return jsonError(401, 'unauthorized', 'Cannot list peers as discovery is disabled');
      return new Response(this.#freshId(), { headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
    }
    return jsonError(404, 'not-found', `Cannot ${req.method} ${url.pathname} as signalling has no such route`);
  }

  /** Closes every socket and stops the timers. */
  close(): void {
    clearInterval(this.#timer);
    for (const c of this.realm.clients.values()) safeClose(c.socket, 1001, 'server shutting down');
    this.realm.clients.clear();
  }

  #freshId(): string {
    for (;;) {
      const id = crypto.randomUUID();
      if (!this.realm.clients.has(id)) return id;
    }
  }

  async #connect(req: Request, url: URL, addr: string): Promise<Response> {
    const id = url.searchParams.get('id') ?? '';
    const token = url.searchParams.get('token') ?? '';
    const key = url.searchParams.get('key') ?? '';
    let refusal: string | null = null;
    if (!id || !token || !key) refusal = 'No id, token, or key supplied to websocket server';
    else if (key !== this.opts.key) refusal = 'Invalid key provided';
    else if (!isValidPeerId(id)) refusal = `Cannot accept id as it is not a valid peer id: current value is ${JSON.stringify(String(id).slice(0, 80))}`;
    const keyed = refusal === null && isKeyedId(id);
    if (keyed) refusal = await this.#nonces.check(id, token);
    const release = this.deps.admit ? this.deps.admit(req, addr) : admitAll;
    if (!release) {
      this.deps.metrics.inc('connections_refused', 'address-cap');
      return jsonError(429, 'rate-limited', `Cannot accept a signalling connection from ${addr}: too many open`);
    }
    let upgrade: { socket: WebSocket; response: Response };
    try {
      // No WebSocket idle timer: the sweep below drops clients silent for `aliveMs`, one check for all of them.
      upgrade = upgradeWebSocket(req, { maxMessageBytes: MAX_SIGNAL_MESSAGE_BYTES, idleTimeoutMs: 0 });
    } catch (err) {
      release();
      return jsonError(400, 'invalid-message', `Cannot upgrade to a WebSocket: ${(err as Error).message}`);
    }
    const { socket } = upgrade;
    // onclose, not a listener: an EventTarget listener costs each connection a few hundred bytes. #open chains it.
    socket.onclose = release;
    this.deps.metrics.inc('connections', 'signalling');
    socket.onopen = () => {
      socket.onopen = null;
      if (refusal !== null) {
        this.deps.metrics.inc('errors', 'signalling-refused');
        this.#sendRaw(socket, { type: 'ERROR', payload: { msg: refusal } });
        safeClose(socket, 1008, 'refused');
        return;
      }
      const client: SignalClient = { id, token, keyed, socket, lastSeen: Date.now(), addr, release };
      if (this.deps.cluster) void this.#claim(client, this.deps.cluster);
      else this.#open(client);
    };
    return upgrade.response;
  }

  /** Claims the id cluster-wide, then opens (the directory has the last word on ID-TAKEN). */
  async #claim(client: SignalClient, cluster: SignallingCluster): Promise<void> {
    const existing = this.realm.clients.get(client.id);
    if (existing && existing.token !== client.token && !client.keyed) return this.#idTaken(client);
    const verdict = await cluster.claim(client);
    if (verdict === 'taken') return this.#idTaken(client);
    if (verdict !== 'ok') {
      this.deps.metrics.inc('errors', 'signalling-refused');
      this.#sendRaw(client.socket, { type: 'ERROR', payload: { msg: verdict.error } });
      safeClose(client.socket, 1011, 'cluster unavailable');
      return;
    }
    if (client.socket.readyState !== WebSocket.OPEN) return cluster.release(client);
    this.#open(client, true);
    cluster.opened(client);
  }

  #idTaken(client: SignalClient): void {
    this.#sendRaw(client.socket, { type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });
    safeClose(client.socket, 1008, 'id taken');
  }

  #open(client: SignalClient, claimed = false): void {
    const existing = this.realm.clients.get(client.id);
    // Same token = the same client reconnecting (reference behaviour); a fresh proof of the key also wins.
    if (existing && existing.token !== client.token && !client.keyed && !claimed) return this.#idTaken(client);
    if (existing) safeClose(existing.socket, 4000, 'replaced by a new connection');
    this.realm.clients.set(client.id, client);
    this.#limits.set(client, new SendLimits(this.opts.ratePerSec, this.opts.rateBurst));
    const { socket } = client;
    socket.onclose = () => {
      this.#drop(client);
      client.release?.();
    };
    socket.onmessage = (ev) => this.#onMessage(client, ev.data);
    this.#sendRaw(socket, { type: 'OPEN' });
    for (const text of this.realm.drain(client.id)) this.#sendText(socket, text);
    this.deps.log.debug('signalling open', { peer: client.id, keyed: client.keyed });
  }

  #onMessage(client: SignalClient, data: unknown): void {
    client.lastSeen = Date.now();
    this.deps.metrics.inc('frames', 'signalling');
    if (typeof data !== 'string') {
      this.#error(client, 'invalid-message', 'Cannot accept frame as binary frames are not part of the protocol');
      return;
    }
    const limits = this.#limits.get(client)!;
    if (limits.takeBytes(data.length)) {
      if (limits.notice()) this.#error(client, 'rate-limited', `Cannot relay as ${client.id} exceeds its bytes per second`);
      else this.deps.metrics.inc('errors', 'signalling-frame');
      return;
    }
    let frame: SignalFrame;
    try {
      frame = parseSignalFrame(data);
    } catch (err) {
      this.#error(client, err instanceof RangeError ? 'too-large' : 'invalid-message', (err as Error).message);
      return;
    }
    const refused = limits.take(frame.type === 'HEARTBEAT' ? undefined : frame.dst);
    if (refused) {
      const what = refused === 'to-peer' ? `${this.opts.ratePerSec} messages per second to ${frame.dst}` : 'its messages per second';
      if (limits.notice()) this.#error(client, 'rate-limited', `Cannot relay as ${client.id} exceeds ${what}`);
      else this.deps.metrics.inc('errors', 'signalling-frame');
      return;
    }
    this.#dispatch(client, frame);
  }

  #dispatch(client: SignalClient, frame: SignalFrame): void {
    if (frame.type === 'HEARTBEAT') return;
    if (frame.dst === undefined) {
      // LEAVE without a destination: the client is leaving the server.
      this.#drop(client);
      safeClose(client.socket, 1000, 'left');
      return;
    }
    const out: RoutedSignal = { type: frame.type, src: client.id, dst: frame.dst };
    if (frame.payload !== undefined) out.payload = frame.payload;
    if (this.deliverLocal(out)) return;
    if (this.deps.cluster) return this.deps.cluster.route(out);
    if (frame.type === 'LEAVE' || frame.type === 'EXPIRE') return;
    if (!this.realm.enqueue(frame.dst, client.id, out, Date.now())) {
      this.#sendRaw(client.socket, { type: 'EXPIRE', src: frame.dst, dst: client.id });
    }
  }

  /** Delivers a frame to its destination if connected here; a failed send drops it and tells the sender LEAVE. */
  deliverLocal(frame: RoutedSignal): boolean {
    const dst = this.realm.clients.get(frame.dst);
    if (!dst) return false;
    this.#limits.get(dst)?.heardFrom(frame.src);
    if (!this.#sendRaw(dst.socket, frame)) {
      this.#drop(dst);
      safeClose(dst.socket, 1011, 'send failed');
      this.#tell({ type: 'LEAVE', src: dst.id, dst: frame.src });
    }
    return true;
  }

  /** Closes a client's socket without releasing its id cluster-wide (another instance holds it now). */
  evict(id: string, code: number, reason: string): void {
    const client = this.realm.clients.get(id);
    if (!client) return;
    this.realm.clients.delete(id);
    safeClose(client.socket, code, reason);
  }

  /** Removes the client if it is still the holder of its id; false if it was not. */
  #drop(client: SignalClient): boolean {
    if (this.realm.clients.get(client.id) !== client) return false;
    this.realm.clients.delete(client.id);
    this.deps.cluster?.release(client);
    return true;
  }

  /** A server frame (LEAVE, EXPIRE) for a peer here or, with a cluster, elsewhere. */
  #tell(frame: RoutedSignal): void {
    const dst = this.realm.clients.get(frame.dst);
    if (dst) this.#sendRaw(dst.socket, frame);
    else this.deps.cluster?.route(frame);
  }

  #error(client: SignalClient, code: string, msg: string): void {
    this.deps.metrics.inc('errors', 'signalling-frame');
    this.#sendRaw(client.socket, { type: 'ERROR', payload: { msg, code } });
  }

  /** Sends a frame; false when the socket is not open or the send closed it (a slow reader past its buffer cap). */
  #sendRaw(socket: WebSocket, frame: ServerSignal): boolean {
    return this.#sendText(socket, JSON.stringify(frame));
  }

  #sendText(socket: WebSocket, text: string): boolean {
    if (socket.readyState !== WebSocket.OPEN) return false;
    try {
      socket.send(text);
      return socket.readyState === WebSocket.OPEN;
    } catch {
      return false;
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const { src, dst } of this.realm.expire(now, this.opts.expireMs)) this.#tell({ type: 'EXPIRE', src: dst, dst: src });
    for (const c of this.realm.clients.values()) {
      if (now - c.lastSeen > this.opts.aliveMs) {
        this.#drop(c);
        safeClose(c.socket, 1000, 'silent too long');
      }
    }
  }
}

/** Release of a connection nobody counts (no admission hook). */
const admitAll = (): void => {};

function safeClose(socket: WebSocket, code: number, reason: string): void {
  try {
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(code, reason);
  } catch {
    // already closing
  }
}
