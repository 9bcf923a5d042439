/**
 * NOTIFY payloads: PostgreSQL caps a payload below 8000 bytes, refuses NUL characters, and delivers identical
 * (channel, payload) pairs of one transaction only once. Every payload therefore starts with a per-connection
 * sequence number, and a message that does not fit is SPLIT (not refused) into base64 parts that the receiver
 * reassembles; the parts of one message are sent in one statement, hence one transaction, so they arrive
 * together and in order.
 *
 * Formats (`seq` base 36, unique per connection):
 * - `t<seq>|<text>`: a whole UTF-8 text message (JSON, the common case: no copy, no base64);
 * - `b<seq>|<base64>`: a whole binary message (or text with a NUL character);
 * - `p<seq>|<tag>.<first>.<i>.<n>.<t|b>|<base64 chunk>`: part i of n of a message; `tag` names the connection.
 */
import { utf8Length } from './_message.ts';

/** Largest NOTIFY payload sent, in bytes (PostgreSQL's limit is 7999; the rest is margin). */
export const NOTIFY_PAYLOAD_BYTES = 7900;
/** Incomplete split messages a receiver keeps, and how long it waits for the rest of one. */
const MAX_INCOMPLETE = 64;
const INCOMPLETE_TTL_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Turns messages into NOTIFY payloads for one connection. */
export class PartsEncoder {
  #seq = 0;

  constructor(readonly tag: string = crypto.randomUUID().slice(0, 8)) {}

  /** Payloads for one message, in order. `size` is its UTF-8 length when it is a string. */
  encode(data: Uint8Array | string, size: number): string[] {
    if (typeof data === 'string' && size + 16 <= NOTIFY_PAYLOAD_BYTES && !data.includes('\0')) return [`t${this.#next()}|${data}`];
    const kind = typeof data === 'string' ? 't' : 'b';
    const b64 = toBase64(typeof data === 'string' ? encoder.encode(data) : data);
    if (kind === 'b' && b64.length + 16 <= NOTIFY_PAYLOAD_BYTES) return [`b${this.#next()}|${b64}`];
    const chunk = NOTIFY_PAYLOAD_BYTES - 80;
    const n = Math.ceil(b64.length / chunk);
    const first = this.#seq.toString(36);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(`p${this.#next()}|${this.tag}.${first}.${i}.${n}.${kind}|${b64.slice(i * chunk, (i + 1) * chunk)}`);
    return out;
  }

  #next(): string {
    return (this.#seq++).toString(36);
  }
}

/** A decoded message, or why a payload was not one. */
export type Decoded = { payload: string | Uint8Array; size: number } | { incomplete: true } | { error: string };

/** Reassembles payloads into messages, bounded in incomplete messages and their age. */
export class PartsDecoder {
  readonly #incomplete = new Map<string, { parts: string[]; got: number; kind: string; at: number }>();

  constructor(private readonly maxBytes: number, private readonly now: () => number = Date.now) {}

  /** Decodes one payload. */
  decode(raw: string): Decoded {
    const bar = raw.indexOf('|');
    if (bar < 2) return { error: `Cannot decode a NOTIFY payload as it has no header: current value starts ${JSON.stringify(raw.slice(0, 24))}` };
    const kind = raw[0];
    if (kind === 't') {
      const text = raw.slice(bar + 1);
      return { payload: text, size: utf8Length(text) };
    }
    if (kind === 'b') return this.#bytes(raw.slice(bar + 1), 'b');
    if (kind !== 'p') return { error: `Cannot decode a NOTIFY payload as its kind must be t, b or p: current value is ${JSON.stringify(kind)}` };
    const bar2 = raw.indexOf('|', bar + 1);
    const [tag, first, i, n, k] = raw.slice(bar + 1, bar2).split('.');
    const index = Number(i);
    const count = Number(n);
    if (bar2 < 0 || !tag || !first || (k !== 't' && k !== 'b') || !(index >= 0 && index < count && count <= 64)) {
      return { error: `Cannot decode a NOTIFY part as its header is malformed: current value is ${JSON.stringify(raw.slice(0, bar2 < 0 ? 40 : bar2))}` };
    }
    const key = `${tag}.${first}`;
    const now = this.now();
    this.#evict(now);
    let entry = this.#incomplete.get(key);
    if (!entry) {
      if (this.#incomplete.size >= MAX_INCOMPLETE) this.#incomplete.delete(this.#incomplete.keys().next().value!);
      this.#incomplete.set(key, entry = { parts: new Array<string>(count), got: 0, kind: k, at: now });
    }
    if (entry.parts.length !== count || entry.parts[index] !== undefined) {
      this.#incomplete.delete(key);
      return { error: `Cannot reassemble NOTIFY message ${key} as part ${index} of ${count} does not match what arrived before` };
    }
    entry.parts[index] = raw.slice(bar2 + 1);
    if (++entry.got < count) return { incomplete: true };
    this.#incomplete.delete(key);
    return this.#bytes(entry.parts.join(''), entry.kind);
  }

  #bytes(b64: string, kind: string): Decoded {
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(b64);
    } catch {
      return { error: 'Cannot decode a NOTIFY payload as its body is not base64' };
    }
    if (bytes.byteLength > this.maxBytes) return { error: `Cannot accept a NOTIFY message as it exceeds ${this.maxBytes} bytes: current size is ${bytes.byteLength}` };
    if (kind === 'b') return { payload: bytes, size: bytes.byteLength };
    try {
      return { payload: decoder.decode(bytes), size: bytes.byteLength };
    } catch {
      return { error: 'Cannot decode a NOTIFY text message as it is not UTF-8' };
    }
  }

  #evict(now: number): void {
    for (const [key, e] of this.#incomplete) {
      if (now - e.at < INCOMPLETE_TTL_MS) break;
      this.#incomplete.delete(key);
    }
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
