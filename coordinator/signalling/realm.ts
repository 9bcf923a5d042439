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
  /** Gives back the connection's admission slot (called once, when the socket closes). */
  release?: () => void;
}

interface Queued {
  src: string;
  /** The frame as sent (serialized once). */
  text: string;
  at: number;
}

/** Caps so queued messages for made-up ids cannot fill memory: messages and characters per absent peer... */
export const QUEUE_PER_PEER = 256;
export const QUEUE_BYTES_PER_PEER = 256 * 1024;
/** ...and over all absent peers. */
export const QUEUE_TOTAL = 50_000;
export const QUEUE_BYTES_TOTAL = 16 * 1024 * 1024;

/** Connected clients and per-destination message queues. */
export class Realm {
  readonly clients = new Map<string, SignalClient>();
  #queues = new Map<string, { items: Queued[]; chars: number }>();
  #queued = 0;
  #chars = 0;

  /** Number of queued messages. */
  get queued(): number {
    return this.#queued;
  }

  /** Characters of queued messages. */
  get queuedChars(): number {
    return this.#chars;
  }

  /** Queues a frame for an absent peer; false when a cap is reached (the caller sends EXPIRE at once). */
  enqueue(dst: string, src: string, frame: ServerSignal, now: number): boolean {
    const text = JSON.stringify(frame);
    if (this.#queued >= QUEUE_TOTAL || this.#chars + text.length > QUEUE_BYTES_TOTAL) return false;
    let q = this.#queues.get(dst);
    if (q && (q.items.length >= QUEUE_PER_PEER || q.chars + text.length > QUEUE_BYTES_PER_PEER)) return false;
    if (!q && text.length > QUEUE_BYTES_PER_PEER) return false;
    if (!q) this.#queues.set(dst, q = { items: [], chars: 0 });
    q.items.push({ src, text, at: now });
    q.chars += text.length;
    this.#queued++;
    this.#chars += text.length;
    return true;
  }

  /** Removes and returns every frame waiting for `dst` (as text), oldest first. */
  drain(dst: string): string[] {
    const q = this.#queues.get(dst);
    if (!q) return [];
    this.#queues.delete(dst);
    this.#queued -= q.items.length;
    this.#chars -= q.chars;
    return q.items.map((m) => m.text);
  }

  /** Removes messages older than `expireMs`; returns (src, dst) of each so senders can be told. */
  expire(now: number, expireMs: number): { src: string; dst: string }[] {
    const out: { src: string; dst: string }[] = [];
    for (const [dst, q] of this.#queues) {
      let keep = 0;
      while (keep < q.items.length && now - q.items[keep]!.at >= expireMs) keep++;
      if (keep === 0) continue;
      for (const m of q.items.splice(0, keep)) {
        out.push({ src: m.src, dst });
        q.chars -= m.text.length;
        this.#chars -= m.text.length;
      }
      this.#queued -= keep;
      if (q.items.length === 0) this.#queues.delete(dst);
    }
    return out;
  }
}
