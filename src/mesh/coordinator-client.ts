/**
 * The mesh API socket (`${coordinator}/mesh`): challenge/auth with the identity, requests matched to their
 * `ok`/`error` by `rid`, server pushes raised as events, and a bounded reconnect with backoff that
 * authenticates again. Requests marked idempotent (receipts, claims, rejects) that were in flight when the
 * socket dropped are sent again after reconnecting, so a dropped socket never loses a payment; others reject.
 * Given several coordinators of one cluster, it connects to the first that answers and, after a drop, tries
 * the same one once and then the others in turn (coordinator-list.ts), authenticating afresh wherever it lands.
 *
 * Events: one per push type (`assign`, `revoke`, `assigned`, `released`, `credited`, `job`) as
 * CustomEvent<frame>; `welcome` (CustomEvent<WelcomeFrame>) after every (re)authentication; `moved`
 * (CustomEvent<{ from: string; to: string }>, base URLs) after one that landed on another coordinator;
 * `reconnecting`; `close` (CustomEvent<{ error?: Error }>) when the client gives up or is closed.
 */
import type { Identity } from '../core/identity.ts';
import { type ClientFrame, authMessage, type ServerFrame } from '../protocol/coordinator.ts';
import { fromWireError, MeshError, type WireError } from '../protocol/errors.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { meshSocketUrl } from './config.ts';
import { coordinatorBase, coordinatorList, reconnectPlan } from './coordinator-list.ts';
import type { ReconnectPolicy } from './peer-network.ts';

/** The server's `welcome` frame. */
export type WelcomeFrame = Extract<ServerFrame, { type: 'welcome' }>;
/** Frames the server pushes without a request. */
export type PushFrame = Extract<ServerFrame, {
  type: 'assign' | 'revoke' | 'assigned' | 'released' | 'credited' | 'job' | 'verdict' | 'waiting' | 'peer-left' | 'paused' | 'linked' | 'serve' | 'forget' | ServePushType;
}>;
/** Pushes of continuous serving. */
export type ServePushType = 'serve-assign' | 'serve-payer' | 'serve-revoke' | 'serve-credited' | 'serve-replicas' | 'serve-closed';
/** A request as the caller writes it: any client frame but `auth`, without `rid`. */
export type RequestFrame = ClientFrame extends infer F ? F extends { rid: number } ? Omit<F, 'rid'> : never : never;

const PUSH_TYPES = new Set([
  'assign', 'revoke', 'assigned', 'released', 'credited', 'job', 'verdict', 'waiting', 'peer-left', 'paused', 'linked', 'serve', 'forget',
  'serve-assign', 'serve-payer', 'serve-revoke', 'serve-credited', 'serve-replicas', 'serve-closed',
]);
/** Close code of a session the coordinator replaced by a newer one of the same identity (coordinator/mesh/session.ts). */
export const REPLACED_CLOSE_CODE = 4000;
const DEFAULT_POLICY: ReconnectPolicy = { attempts: 6, baseMs: 250, maxMs: 8000 };

interface Pending {
  frame: RequestFrame;
  idempotent: boolean;
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Detail of the `moved` event: base URLs of the coordinator left and of the one now in use. */
export interface MovedDetail {
  from: string;
  to: string;
}

/** Options of `CoordinatorClient.connect`. */
export interface CoordinatorClientOptions {
  /** Tries after a drop, over all coordinators together (default 6, at least one per coordinator plus one). */
  reconnect?: Partial<ReconnectPolicy>;
  /** Milliseconds a request may wait for its answer (default 30 s). */
  requestTimeoutMs?: number;
  /** Milliseconds the handshake may take (default 10 s). */
  authTimeoutMs?: number;
}

/** An authenticated mesh API session. */
export class CoordinatorClient extends EventTarget {
  /** Base URLs of the coordinators this client may use, in order of preference. */
  readonly coordinators: readonly string[];
  readonly #identity: Identity;
  readonly #policy: ReconnectPolicy;
  readonly #requestTimeoutMs: number;
  readonly #authTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  /** Requests made while reconnecting, sent once authenticated again. */
  readonly #queued: Pending[] = [];
  #ws: WebSocket | undefined;
  /** Index of the coordinator in use (-1 before the first authentication). */
  #current = -1;
  #welcome: WelcomeFrame | undefined;
  #nextRid = 1;
  #state: 'open' | 'reconnecting' | 'closed' = 'open';

  private constructor(coordinators: readonly string[], identity: Identity, opts: CoordinatorClientOptions) {
    super();
    this.coordinators = coordinators;
    this.#identity = identity;
    const attempts = Math.max(DEFAULT_POLICY.attempts, coordinators.length + 1);
    this.#policy = { ...DEFAULT_POLICY, attempts, ...opts.reconnect };
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#authTimeoutMs = opts.authTimeoutMs ?? 10_000;
  }

  /**
   * Connects and authenticates at the first of `base` (one URL, or a cluster's list, see `coordinatorList`) that
   * answers; rejects with a server's error (e.g. 'unauthorized') or 'transfer-failed' when none accepted.
   */
  static async connect(base: string | URL | readonly (string | URL)[], identity: Identity, opts: CoordinatorClientOptions = {}): Promise<CoordinatorClient> {
    const list = typeof base === 'string' || base instanceof URL ? [coordinatorBase(base)] : coordinatorList(base);
    const client = new CoordinatorClient(list, identity, opts);
    const errors: Error[] = [];
    for (let i = 0; i < list.length; i++) {
      try {
        await client.#open(i);
        return client;
      } catch (err) {
        if (err instanceof MeshError && err.code === 'unauthorized') throw err;
        errors.push(err as Error);
      }
    }
    if (errors.length === 1) throw errors[0]!;
    throw new MeshError('transfer-failed', `Cannot connect to any of ${list.length} coordinators: ${errors.map((e) => e.message).join('; ')}`);
  }

  /** Base URL of the coordinator in use (while reconnecting: the one last in use). */
  get base(): string {
    return this.coordinators[Math.max(0, this.#current)]!;
  }

  /** Mesh API socket URL of the coordinator in use. */
  get url(): string {
    return meshSocketUrl(this.base);
  }

  /** The latest `welcome` (balance, fee rate, lease length at the time of authentication). */
  get welcome(): WelcomeFrame {
    return this.#welcome!;
  }

  /** 'open', 'reconnecting' or 'closed'. */
  get state(): 'open' | 'reconnecting' | 'closed' {
    return this.#state;
  }

  /**
   * Sends a request and resolves with the `ok` result, or rejects with the `error` as a MeshError.
   * `idempotent` requests survive a reconnect (sent again); others reject with 'transfer-failed'.
   */
  request<T = unknown>(frame: RequestFrame, opts: { idempotent?: boolean; timeoutMs?: number } = {}): Promise<T> {
    if (this.#state === 'closed') {
      return Promise.reject(new MeshError('transfer-failed', `Cannot send '${frame.type}' as the coordinator connection is closed`));
    }
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? this.#requestTimeoutMs;
      const pending: Pending = {
        frame,
        idempotent: opts.idempotent ?? false,
        resolve: resolve as (r: unknown) => void,
        reject,
        timer: setTimeout(() => {
          this.#forget(pending);
          reject(new MeshError('transfer-failed', `Cannot complete '${frame.type}' as the coordinator did not answer: waited ${timeoutMs} ms`));
        }, timeoutMs),
      };
      if (this.#state === 'open') this.#send(pending);
      else this.#queued.push(pending);
    });
  }

  /** Closes the session for good; pending requests reject with 'cancelled'. */
  close(): void {
    this.#shutdown(undefined);
  }

  #send(p: Pending): void {
    const rid = this.#nextRid++;
    this.#pending.set(rid, p);
    try {
      this.#ws!.send(JSON.stringify({ ...p.frame, rid }));
    } catch {
      // The socket is going down; its close handler re-queues or rejects this request.
    }
  }

  #forget(p: Pending): void {
    for (const [rid, q] of this.#pending) if (q === p) this.#pending.delete(rid);
    const at = this.#queued.indexOf(p);
    if (at >= 0) this.#queued.splice(at, 1);
  }

  /** Opens the socket to coordinator `index` and completes the handshake; on success makes it the one in use. */
  async #open(index: number): Promise<void> {
    const url = meshSocketUrl(this.coordinators[index]!);
    const ws = new WebSocket(url);
    const welcome = await new Promise<WelcomeFrame>((resolve, reject) => {
      const timer = setTimeout(() => fail(new MeshError('transfer-failed', `Cannot authenticate at ${url}: no welcome within ${this.#authTimeoutMs} ms`)), this.#authTimeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        ws.onmessage = ws.onclose = ws.onerror = null;
        ws.close();
        reject(err);
      };
      ws.onerror = () => {}; // the close event that follows carries the failure
      ws.onclose = (e) => fail(new MeshError('transfer-failed', `Cannot connect to ${url}: socket closed (${e.code} ${e.reason})`));
      ws.onmessage = (e) => {
        const frame = parseServerFrame(e.data);
        if (!frame) return fail(new MeshError('invalid-message', `Cannot authenticate as the coordinator sent a malformed frame: ${String(e.data).slice(0, 100)}`));
        if (frame.type === 'challenge') {
          void this.#identity.sign(authMessage(frame.nonce, this.#identity.peerId)).then((signature) => {
            ws.send(JSON.stringify({ type: 'auth', v: PROTOCOL_VERSION, peerId: this.#identity.peerId, publicKey: this.#identity.publicKey, signature }));
          }, fail);
        } else if (frame.type === 'welcome') {
          clearTimeout(timer);
          resolve(frame);
        } else if (frame.type === 'error') {
          fail(fromWireError(frame.error));
        }
      };
    });
    if (this.#state === 'closed') {
      ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close();
      throw new MeshError('cancelled', `Cannot use the session at ${url} as the client was closed meanwhile`);
    }
    const from = this.#current;
    this.#current = index;
    this.#ws = ws;
    this.#welcome = welcome;
    this.#state = 'open';
    ws.onmessage = (e) => this.#onMessage(e.data);
    ws.onclose = (e) => void this.#onDrop(ws, e.code, e.reason);
    this.dispatchEvent(new CustomEvent<WelcomeFrame>('welcome', { detail: welcome }));
    if (from >= 0 && from !== index) {
      this.dispatchEvent(new CustomEvent<MovedDetail>('moved', { detail: { from: this.coordinators[from]!, to: this.coordinators[index]! } }));
    }
    for (const p of this.#queued.splice(0)) this.#send(p);
  }

  #onMessage(data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) return; // a malformed push cannot be routed; requests still time out cleanly
    if (frame.type === 'ok' || frame.type === 'error') {
      const p = frame.rid === undefined ? undefined : this.#pending.get(frame.rid);
      if (!p) return;
      this.#pending.delete(frame.rid!);
      clearTimeout(p.timer);
      if (frame.type === 'ok') p.resolve(frame.result);
      else p.reject(fromWireError(frame.error as WireError));
    } else if (PUSH_TYPES.has(frame.type)) {
      this.dispatchEvent(new CustomEvent(frame.type, { detail: frame }));
    } else if (frame.type === 'welcome') {
      this.#welcome = frame;
    }
  }

  async #onDrop(ws: WebSocket, code = 1006, reason = ''): Promise<void> {
    if (this.#ws !== ws || this.#state === 'closed') return;
    if (code === REPLACED_CLOSE_CODE) {
      // Another session of this identity took over: reconnecting would evict it in turn, and so on forever.
      this.#shutdown(new MeshError('conflict', `Cannot keep the session at ${this.url} as a newer session of ${this.#identity.peerId} replaced it (${code} ${reason})`));
      return;
    }
    this.#state = 'reconnecting';
    this.#ws = undefined;
    for (const p of this.#pending.values()) {
      if (p.idempotent) this.#queued.push(p);
      else {
        clearTimeout(p.timer);
        p.reject(new MeshError('transfer-failed', `Cannot complete '${p.frame.type}' as the coordinator connection dropped`));
      }
    }
    this.#pending.clear();
    this.dispatchEvent(new Event('reconnecting'));
    let last: Error | undefined;
    for (const step of reconnectPlan(this.coordinators.length, this.#current, this.#policy)) {
      await new Promise((r) => setTimeout(r, step.delayMs));
      if ((this.#state as string) === 'closed') return;
      try {
        await this.#open(step.index);
        return;
      } catch (err) {
        last = err as Error;
        if (err instanceof MeshError && err.code === 'unauthorized') break;
      }
    }
    const where = this.coordinators.length === 1 ? this.url : `any of ${this.coordinators.length} coordinators`;
    this.#shutdown(new MeshError('transfer-failed', `Cannot reconnect to ${where} after ${this.#policy.attempts} attempts: ${last?.message}`));
  }

  #shutdown(error: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const reason = error ?? new MeshError('cancelled', 'Cannot complete the request as the coordinator client was closed');
    for (const p of [...this.#pending.values(), ...this.#queued]) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.#pending.clear();
    this.#queued.length = 0;
    if (this.#ws) {
      this.#ws.onclose = this.#ws.onmessage = null;
      this.#ws.close();
      this.#ws = undefined;
    }
    this.dispatchEvent(new CustomEvent('close', { detail: { error } }));
  }
}

/** Parses a server text frame just enough to route it; undefined for anything that is not a typed object. */
function parseServerFrame(data: unknown): ServerFrame | undefined {
  if (typeof data !== 'string' || data.length > 16 * 1024 * 1024) return undefined;
  try {
    const frame = JSON.parse(data) as unknown;
    if (typeof frame !== 'object' || frame === null || typeof (frame as { type?: unknown }).type !== 'string') return undefined;
    return frame as ServerFrame;
  } catch {
    return undefined;
  }
}
