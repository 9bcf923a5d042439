/**
 * A hand-written TCP client for tests of coordinator/net: it sends exactly the bytes a test asks for (bad
 * heads, slow heads, unmasked or oversized frames) and reads responses and frames without hiding anything.
 */
import { ConnReader } from '../net/conn-reader.ts';
import { findHeadEnd } from '../net/http1-parse.ts';
import { acceptKey } from '../net/upgrade.ts';

/** A parsed response head. */
export interface RawHead {
  status: number;
  headers: Map<string, string>;
}

/** A received WebSocket frame. */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Rejects with `what` if `p` does not settle within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One raw TCP connection to 127.0.0.1. */
export class RawClient {
  readonly reader: ConnReader;
  #closed = false;

  private constructor(readonly conn: Deno.TcpConn) {
    this.reader = new ConnReader(conn, 64 * 1024);
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: '127.0.0.1', port }));
  }

  /** Writes bytes or latin1/ASCII text. */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? enc.encode(data) : data;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** Reads one response head. */
  async readHead(timeoutMs = 3000): Promise<RawHead> {
    return await within((async () => {
      let end = findHeadEnd(this.reader.view());
      while (end < 0) {
        if (!(await this.reader.fill(1 << 20))) throw new Error(`Connection ended before a response head: got ${JSON.stringify(dec.decode(this.reader.view()).slice(0, 200))}`);
        end = findHeadEnd(this.reader.view());
      }
      const text = dec.decode(this.reader.view().slice(0, end));
      this.reader.consume(end);
      const [statusLine, ...lines] = text.trimEnd().split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines) {
        const i = line.indexOf(':');
        headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
      }
      return { status: Number(statusLine!.split(' ')[1]), headers };
    })(), timeoutMs, 'a response head');
  }

  /** Reads a response body of `n` bytes as text. */
  async readText(n: number, timeoutMs = 3000): Promise<string> {
    const bytes = await within(this.reader.readExact(n), timeoutMs, `${n} body bytes`);
    if (!bytes) throw new Error('Connection ended inside a body');
    return dec.decode(bytes);
  }

  /** Whether the server ends the connection (EOF or reset) within `ms`, discarding what it sends meanwhile. */
  async endsWithin(ms: number): Promise<boolean> {
    const end = performance.now() + ms;
    try {
      return await within((async () => {
        while (await this.reader.fill(1 << 20)) this.reader.consume(this.reader.buffered);
        return true;
      })(), ms, 'the end of the connection');
    } catch {
      return performance.now() < end; // a reset by the server counts as ended; a timeout does not
    }
  }

  /** Performs the WebSocket handshake on `path`; throws unless the answer is a valid 101. */
  async handshake(path = '/ws', extra = ''): Promise<void> {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await this.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    const head = await this.readHead();
    if (head.status !== 101) throw new Error(`Handshake answered ${head.status}`);
    if (head.headers.get('sec-websocket-accept') !== await acceptKey(key)) throw new Error('Handshake answered a wrong Sec-WebSocket-Accept');
  }

  /** Sends one frame, masked unless told otherwise; `length` overrides the declared payload length. */
  async sendFrame(opcode: number, payload: Uint8Array | string, o: { fin?: boolean; mask?: boolean; rsv?: number; length?: number } = {}): Promise<void> {
    const data = typeof payload === 'string' ? enc.encode(payload) : payload;
    const len = o.length ?? data.length;
    const mask = o.mask ?? true;
    const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
    const m = mask ? 0x80 : 0;
    if (len < 126) head.push(m | len);
    else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
    else {
      head.push(m | 127);
      for (let i = 7; i >= 0; i--) head.push(Math.floor(len / 2 ** (8 * i)) & 0xff);
    }
    const key = crypto.getRandomValues(new Uint8Array(4));
    if (mask) head.push(...key);
    const body = data.slice();
    if (mask) for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
    const out = new Uint8Array(head.length + body.length);
    out.set(head);
    out.set(body, head.length);
    await this.write(out);
  }

  /** Reads one (unmasked, server) frame. */
  async readFrame(timeoutMs = 3000): Promise<RawFrame> {
    return await within((async () => {
      const need = async (n: number) => {
        while (this.reader.buffered < n) if (!(await this.reader.fill(1 << 24))) throw new Error('Connection ended inside a frame');
      };
      await need(2);
      const [b0, b1] = this.reader.view();
      let len = b1! & 0x7f;
      let off = 2;
      if (len === 126) {
        await need(4);
        const v = this.reader.view();
        len = (v[2]! << 8) | v[3]!;
        off = 4;
      } else if (len === 127) {
        await need(10);
        len = Number(new DataView(this.reader.view().slice(2, 10).buffer).getBigUint64(0));
        off = 10;
      }
      await need(off + len);
      const payload = this.reader.view().slice(off, off + len);
      this.reader.consume(off + len);
      return { fin: (b0! & 0x80) !== 0, opcode: b0! & 0x0f, payload };
    })(), timeoutMs, 'a frame');
  }

  /** Reads frames until a close frame; returns its code (1005 when empty). */
  async readClose(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    for (;;) {
      const f = await this.readFrame(timeoutMs);
      if (f.opcode !== 0x8) continue;
      if (f.payload.length < 2) return { code: 1005, reason: '' };
      return { code: (f.payload[0]! << 8) | f.payload[1]!, reason: dec.decode(f.payload.subarray(2)) };
    }
  }

  /** Closes the TCP connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}
