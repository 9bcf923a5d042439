/**
 * Who is connected to signalling, and the messages waiting for peers that are not (yet). A message to an
 * absent peer waits up to `expireMs`; if nobody collects it, its sender gets EXPIRE, which the stock client
 * reports as "peer unavailable" instead of hanging.
 */
import type { ServerSignal } from './frames.ts';

/** One connected signalling client. */
export interface SignalClient {
  id: string;
  token: string;
  keyed: boolean;
  socket: WebSocket;
  lastSeen: number;
  addr: string;
}

interface Queued {
  src: string;
  frame: ServerSignal;
  at: number;
}

/** Caps so queued messages for made-up ids cannot fill memory. */
export const QUEUE_PER_PEER = 256;
/** Total queued messages across all absent peers. */
export const QUEUE_TOTAL = 50_000;

/** Connected clients and per-destination message queues. */
export class Realm {
  readonly clients = new Map<string, SignalClient>();
  #queues = new Map<string, Queued[]>();
  #queued = 0;

  /** Number of queued messages. */
  get queued(): number {
    return this.#queued;
  }

  /** Queues a frame for an absent peer; false when the caps are reached (the caller sends EXPIRE at once). */
  enqueue(dst: string, src: string, frame: ServerSignal, now: number): boolean {
    if (this.#queued >= QUEUE_TOTAL) return false;
    let q = this.#queues.get(dst);
    if (!q) this.#queues.set(dst, q = []);
    if (q.length >= QUEUE_PER_PEER) return false;
    q.push({ src, frame, at: now });
    this.#queued++;
    return true;
  }

  /** Removes and returns every frame waiting for `dst`, oldest first. */
  drain(dst: string): ServerSignal[] {
    const q = this.#queues.get(dst);
    if (!q) return [];
    this.#queues.delete(dst);
    this.#queued -= q.length;
    return q.map((m) => m.frame);
  }

  /** Removes messages older than `expireMs`; returns (src, dst) of each so senders can be told. */
  expire(now: number, expireMs: number): { src: string; dst: string }[] {
    const out: { src: string; dst: string }[] = [];
    for (const [dst, q] of this.#queues) {
      let keep = 0;
      while (keep < q.length && now - q[keep]!.at >= expireMs) keep++;
      if (keep === 0) continue;
      for (const m of q.splice(0, keep)) out.push({ src: m.src, dst });
      this.#queued -= keep;
      if (q.length === 0) this.#queues.delete(dst);
    }
    return out;
  }
}
