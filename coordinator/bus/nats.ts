/**
 * The NATS engine of `Bus` (core NATS pub/sub, `npm:nats@2.29`). The client writes published messages to its
 * socket buffer, which nothing bounds, so this engine counts the bytes handed over since the last
 * acknowledged flush (a PING/PONG round trip proves the server read everything before it) and refuses new
 * messages past `maxOutboundBytes`. Subscriptions use the client's callback form (no internal queue) feeding a
 * BoundedQueue. The client reconnects on its own; messages published to a subject nobody listens to vanish.
 */
import { connect, type Msg, type NatsConnection, type Subscription } from 'nats';
import { checkSize, checkSubject, LazyMessage, utf8Length } from './_message.ts';
import { BoundedQueue } from './_queue.ts';
import {
  type Bus,
  type BusErrorKind,
  type BusHandler,
  type BusOptions,
  type BusStats,
  type BusSubscription,
  DEFAULT_MAX_OUTBOUND_BYTES,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_PENDING_BYTES,
  MAX_BUS_PAYLOAD_BYTES,
  type SubscribeOptions,
} from './types.ts';

/** Unacknowledged bytes after which a flush (PING) is sent to learn what the server has read. */
const FLUSH_EVERY_BYTES = 256 * 1024;

/** Connects to a NATS server (`nats://host:port`) and returns the bus over it. */
export async function openNatsBus(url: string, opts: BusOptions = {}): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, name: opts.name ?? 'meshwork', maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 10_000 });
  } catch (err) {
    throw new Error(`Cannot connect to the NATS bus as the server did not answer: current value is ${url}: ${(err as Error).message}`, { cause: err });
  }
  return new NatsBus(nc, opts);
}

/** A bus connection to one NATS server. */
export class NatsBus implements Bus {
  readonly engine = 'nats' as const;
  readonly maxPayloadBytes: number;
  readonly #maxOutbound: number;
  readonly #flushAt: number;
  readonly #stats: BusStats = { published: 0, delivered: 0, dropped: 0, errors: 0 };
  readonly #subs = new Set<{ sub: Subscription; queue: BoundedQueue<Msg> }>();
  #unacked = 0;
  #flushing: Promise<void> | null = null;
  #closing: Promise<void> | undefined;

  constructor(private readonly nc: NatsConnection, private readonly opts: BusOptions) {
    this.maxPayloadBytes = Math.min(MAX_BUS_PAYLOAD_BYTES, nc.info?.max_payload ?? MAX_BUS_PAYLOAD_BYTES);
    this.#maxOutbound = opts.maxOutboundBytes ?? DEFAULT_MAX_OUTBOUND_BYTES;
    this.#flushAt = Math.max(1, Math.min(FLUSH_EVERY_BYTES, Math.floor(this.#maxOutbound / 4)));
    void this.#watchStatus();
  }

  /** Publishes `data`; false when dropped (outbound buffer full, or closed). */
  publish(subject: string, data: Uint8Array | string): boolean {
    checkSubject(subject);
    const size = typeof data === 'string' ? utf8Length(data) : data.byteLength;
    checkSize(subject, size, this.maxPayloadBytes);
    if (this.#closing || this.nc.isClosed()) return false;
    if (this.#unacked + size > this.#maxOutbound) {
      if (!this.#flushing) this.#flushing = this.#ack();
      this.#error('outbound-full', `Cannot publish to ${subject} as ${this.#unacked} bytes are unacknowledged: current cap is ${this.#maxOutbound}`);
      return false;
    }
    try {
      this.nc.publish(subject, data);
    } catch (err) {
      this.#error('publish', `Cannot publish to ${subject}: ${(err as Error).message}`);
      return false;
    }
    this.#stats.published++;
    this.#unacked += size;
    if (this.#unacked >= this.#flushAt && !this.#flushing) this.#flushing = this.#ack();
    return true;
  }

  /** Publishes `value` as JSON. */
  publishJson(subject: string, value: unknown): boolean {
    return this.publish(subject, JSON.stringify(value));
  }

  /** Subscribes; resolves once the server has the interest. */
  async subscribe(subject: string, handler: BusHandler, o: SubscribeOptions = {}): Promise<BusSubscription> {
    checkSubject(subject);
    const queue = new BoundedQueue<Msg>(
      o.maxPending ?? DEFAULT_MAX_PENDING,
      o.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
      (m) => {
        this.#stats.delivered++;
        // A plain Uint8Array view: the client hands out Node Buffers.
        const data = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        return handler(new LazyMessage(m.subject, data, data.byteLength));
      },
      (err) => this.#error('handler', `Cannot handle a message on ${subject}: ${(err as Error)?.message ?? err}`),
    );
    const sub = this.nc.subscribe(subject, {
      callback: (err, m) => {
        if (err) return this.#error('connection', `Cannot receive on ${subject}: ${err.message}`);
        if (!queue.push(m, m.data.byteLength)) this.#error('subscriber-full', `Cannot queue a message on ${subject} as its subscriber is ${queue.length} messages behind`);
      },
    });
    const entry = { sub, queue };
    this.#subs.add(entry);
    await this.nc.flush();
    return {
      subject,
      get dropped() {
        return queue.dropped;
      },
      unsubscribe: () => {
        this.#subs.delete(entry);
        queue.close();
        if (!sub.isClosed()) sub.unsubscribe();
        return Promise.resolve();
      },
    };
  }

  /** Resolves once the server has read everything published so far. */
  async flush(): Promise<void> {
    if (this.nc.isClosed()) return;
    const mark = this.#unacked;
    await this.nc.flush();
    this.#unacked = Math.max(0, this.#unacked - mark);
  }

  /** Counters. */
  stats(): BusStats {
    return { ...this.#stats };
  }

  /** Drains subscriptions and closes the connection. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      for (const { queue } of this.#subs) queue.close();
      this.#subs.clear();
      if (this.nc.isClosed()) return;
      await this.nc.drain().catch(() => this.nc.close());
    })();
  }

  async #ack(): Promise<void> {
    try {
      while (this.#unacked >= this.#flushAt && !this.nc.isClosed()) {
        const mark = this.#unacked;
        await this.nc.flush();
        this.#unacked = Math.max(0, this.#unacked - mark);
      }
    } catch (err) {
      // Closed or disconnected: the client's own reconnect buffer takes over; start counting afresh.
      this.#unacked = 0;
      if (!this.#closing) this.#error('connection', `Cannot flush the NATS bus: ${(err as Error).message}`);
    } finally {
      this.#flushing = null;
    }
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'error') this.#error('connection', `NATS bus ${s.type}: ${String(s.data)}`);
    }
  }

  #error(kind: BusErrorKind, detail: string): void {
    if (kind === 'outbound-full' || kind === 'subscriber-full') this.#stats.dropped++;
    else this.#stats.errors++;
    this.opts.onError?.(kind, detail);
  }
}
