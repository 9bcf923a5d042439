/**
 * Requests between instances over the bus: a request names an operation and carries a body; the receiver's
 * handler answers once, or fails with a MeshError that reaches the caller with its code. The bus delivers at
 * most once, so a request without a reply within its timeout fails with 'internal' ("no reply"): callers
 * only send requests that are safe to repeat or to abandon. Requests waiting for a reply are bounded.
 */
import { MeshError, toWireError } from '../../src/protocol/errors.ts';
import type { Bus } from '../bus/index.ts';
import { instanceSubject, type ReplyMsg, type RequestMsg } from './messages.ts';

/** Requests one instance may have waiting for replies. */
export const MAX_WAITING = 10_000;

/** A handler of one operation: the requester and the body in, the reply body out (or a thrown MeshError). */
export type RpcHandler = (from: string, body: unknown) => Promise<unknown> | unknown;

/** Request/reply over the bus for one instance. */
export class Rpc {
  #next = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  readonly #handlers = new Map<string, RpcHandler>();

  constructor(private readonly bus: Bus, private readonly me: string) {}

  /** Serves an operation. */
  handle(op: string, handler: RpcHandler): void {
    this.#handlers.set(op, handler);
  }

  /** Sends a request to `to`; resolves with its reply body. `signal` gives up waiting (the reply is then dropped). */
  request<T>(to: string, op: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<T> {
    if (this.#waiting.size >= MAX_WAITING) {
      return Promise.reject(new MeshError('rate-limited', `Cannot send '${op}' to instance ${to} as ${MAX_WAITING} requests already wait for replies`));
    }
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new MeshError('internal', `Cannot complete '${op}' on instance ${to} as it did not reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      signal?.addEventListener('abort', () => {
        if (!this.#waiting.delete(id)) return;
        clearTimeout(timer);
        reject(new MeshError('internal', `Cannot complete '${op}' on instance ${to}: ${String(signal.reason ?? 'given up')}`));
      }, { once: true });
      const msg: RequestMsg = { t: 'req', id, from: this.me, op, body };
      if (!this.bus.publishJson(instanceSubject(to), msg)) {
        clearTimeout(timer);
        this.#waiting.delete(id);
        reject(new MeshError('internal', `Cannot send '${op}' to instance ${to} as the bus refused it (closed or full)`));
      }
    });
  }

  /** Handles a request addressed to this instance: runs its handler and publishes the reply. */
  async onRequest(msg: RequestMsg): Promise<void> {
    const h = this.#handlers.get(msg.op);
    let reply: ReplyMsg;
    try {
      if (!h) throw new MeshError('invalid-message', `Cannot serve '${msg.op}' as this instance knows no such operation`);
      reply = { t: 'res', id: msg.id, from: this.me, ok: true, body: (await h(msg.from, msg.body)) ?? null };
    } catch (err) {
      reply = { t: 'res', id: msg.id, from: this.me, ok: false, error: toWireError(err) };
    }
    this.bus.publishJson(instanceSubject(msg.from), reply);
  }

  /** Handles a reply to one of this instance's requests (late or unknown replies are dropped). */
  onReply(msg: ReplyMsg): void {
    const w = this.#waiting.get(msg.id);
    if (!w) return;
    this.#waiting.delete(msg.id);
    clearTimeout(w.timer);
    if (msg.ok) w.resolve(msg.body);
    else w.reject(new MeshError(msg.error.code, msg.error.message));
  }

  /** Fails every waiting request (shutdown). */
  close(): void {
    for (const [id, w] of this.#waiting) {
      clearTimeout(w.timer);
      w.reject(new MeshError('internal', 'Cannot complete the request as this instance is shutting down'));
      this.#waiting.delete(id);
    }
  }
}
