/**
 * The PostgreSQL engine of `Bus`: LISTEN/NOTIFY over `npm:postgres@3`, on connections of its own.
 *
 * NOTIFY takes a global lock while its transaction commits, so this engine never notifies inside anyone
 * else's transaction: it owns one publishing connection, and a single writer sends whatever queued since its
 * last round trip as ONE statement (`select pg_notify(...) from json_array_elements(...)`), i.e. one short
 * transaction per batch; under load that is group commit, idle it is one message per round trip. Payloads
 * over NOTIFY's 8000-byte cap are split into parts and reassembled (_pg-parts.ts); beyond MAX_BUS_PAYLOAD_BYTES
 * they are refused. Channel names longer than PostgreSQL's 63-byte identifiers are shortened with a hash.
 * Notifications sent while the listening connection is down are lost (postgres.js re-listens on reconnect).
 */
import postgres from 'postgres';
import { checkSize, checkSubject, LazyMessage, utf8Length } from './_message.ts';
import { BoundedQueue } from './_queue.ts';
import { PartsDecoder, PartsEncoder } from './_pg-parts.ts';
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

/** Payloads sent in one statement at most. */
const BATCH_PAYLOADS = 512;

/** Connects to PostgreSQL (`postgres://...`) and returns the bus over it. */
export async function openPostgresBus(url: string, opts: BusOptions = {}): Promise<Bus> {
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    fetch_types: false,
    idle_timeout: 0,
    connect_timeout: 10,
    connection: { application_name: opts.name ?? 'meshwork-bus' },
  });
  try {
    await sql`select 1`;
  } catch (err) {
    await sql.end({ timeout: 0 }).catch(() => {});
    throw new Error(`Cannot connect to the PostgreSQL bus as the server did not answer: current value is ${redact(url)}: ${(err as Error).message}`, { cause: err });
  }
  return new PostgresBus(sql, opts);
}

/** A bus connection over PostgreSQL LISTEN/NOTIFY. */
export class PostgresBus implements Bus {
  readonly engine = 'postgres' as const;
  readonly maxPayloadBytes = MAX_BUS_PAYLOAD_BYTES;
  readonly #maxOutbound: number;
  readonly #stats: BusStats = { published: 0, delivered: 0, dropped: 0, errors: 0 };
  readonly #encoder = new PartsEncoder();
  /** Messages waiting for the writer, each as its NOTIFY (channel, payload) pairs. */
  #out: { pairs: [string, string][]; bytes: number }[] = [];
  #outBytes = 0;
  #writing: Promise<void> | null = null;
  readonly #subs = new Set<{ unlisten: () => Promise<void>; queue: BoundedQueue<LazyMessage> }>();
  #closing: Promise<void> | undefined;

  constructor(private readonly sql: postgres.Sql, private readonly opts: BusOptions) {
    this.#maxOutbound = opts.maxOutboundBytes ?? DEFAULT_MAX_OUTBOUND_BYTES;
  }

  /** Queues `data` for the writer; false when dropped (outbound queue full, or closed). */
  publish(subject: string, data: Uint8Array | string): boolean {
    checkSubject(subject);
    const size = typeof data === 'string' ? utf8Length(data) : data.byteLength;
    checkSize(subject, size, this.maxPayloadBytes);
    if (this.#closing) return false;
    if (this.#outBytes + size > this.#maxOutbound) {
      this.#error('outbound-full', `Cannot publish to ${subject} as ${this.#outBytes} bytes wait for the writer: current cap is ${this.#maxOutbound}`);
      return false;
    }
    const channel = channelOf(subject);
    this.#out.push({ pairs: this.#encoder.encode(data, size).map((p) => [channel, p]), bytes: size });
    this.#outBytes += size;
    this.#stats.published++;
    this.#writing ??= this.#write();
    return true;
  }

  /** Publishes `value` as JSON. */
  publishJson(subject: string, value: unknown): boolean {
    return this.publish(subject, JSON.stringify(value));
  }

  /** LISTENs on the subject's channel; resolves once the LISTEN has run. */
  async subscribe(subject: string, handler: BusHandler, o: SubscribeOptions = {}): Promise<BusSubscription> {
    checkSubject(subject);
    const queue = new BoundedQueue<LazyMessage>(
      o.maxPending ?? DEFAULT_MAX_PENDING,
      o.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
      (m) => {
        this.#stats.delivered++;
        return handler(m);
      },
      (err) => this.#error('handler', `Cannot handle a message on ${subject}: ${(err as Error)?.message ?? err}`),
    );
    const decoder = new PartsDecoder(this.maxPayloadBytes);
    const listener = await this.sql.listen(channelOf(subject), (raw) => {
      const d = decoder.decode(raw);
      if ('error' in d) return this.#error('decode', d.error);
      if ('incomplete' in d) return;
      if (!queue.push(new LazyMessage(subject, d.payload, d.size), d.size)) {
        this.#error('subscriber-full', `Cannot queue a message on ${subject} as its subscriber is ${queue.length} messages behind`);
      }
    });
    const entry = { unlisten: () => listener.unlisten(), queue };
    this.#subs.add(entry);
    return {
      subject,
      get dropped() {
        return queue.dropped;
      },
      unsubscribe: async () => {
        if (!this.#subs.delete(entry)) return;
        queue.close();
        await listener.unlisten().catch(() => {});
      },
    };
  }

  /** Resolves once the writer has sent everything queued so far. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Counters. */
  stats(): BusStats {
    return { ...this.#stats };
  }

  /** Sends what is queued, then closes both connections. */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await this.flush();
      for (const { queue } of this.#subs) queue.close();
      this.#subs.clear();
      await this.sql.end({ timeout: 1 }).catch(() => {});
    })();
  }

  async #write(): Promise<void> {
    try {
      while (this.#out.length > 0) {
        let take = 0;
        let payloads = 0;
        let bytes = 0;
        while (take < this.#out.length && (take === 0 || payloads + this.#out[take]!.pairs.length <= BATCH_PAYLOADS)) {
          payloads += this.#out[take]!.pairs.length;
          bytes += this.#out[take]!.bytes;
          take++;
        }
        const batch = this.#out.splice(0, take);
        try {
          const pairs = JSON.stringify(batch.flatMap((m) => m.pairs));
          await this.sql`select pg_notify(x->>0, x->>1) from json_array_elements(${pairs}::text::json) x`;
        } catch (err) {
          this.#error('publish', `Cannot NOTIFY ${take} messages: ${(err as Error).message}`);
        } finally {
          this.#outBytes -= bytes;
        }
      }
    } finally {
      this.#writing = null;
    }
  }

  #error(kind: BusErrorKind, detail: string): void {
    if (kind === 'outbound-full' || kind === 'subscriber-full') this.#stats.dropped++;
    else this.#stats.errors++;
    this.opts.onError?.(kind, detail);
  }
}

/** The LISTEN channel of a subject: itself, or when longer than 63 bytes a prefix and a 64-bit FNV-1a hash. */
export function channelOf(subject: string): string {
  if (subject.length <= 63) return subject;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < subject.length; i++) {
    const c = subject.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return `${subject.slice(0, 46)}.${h1.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0')}`;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
