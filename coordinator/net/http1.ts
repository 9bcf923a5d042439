/**
 * One HTTP/1.1 connection: read a head (within the header timeout, up to the size cap), read a sized body,
 * call the handler, write its response, repeat while keep-alive holds; or hand the connection to a
 * WebSocket when the handler returned an upgrade. Time limits, as a slowloris peer meets them:
 * - first head: complete within `headerTimeoutMs` of the connection's start;
 * - later heads: the first byte within `idleTimeoutMs` of the previous response, the rest within
 *   `headerTimeoutMs` of that byte; a body within `headerTimeoutMs` of its head;
 * - any single write stalled for `writeTimeoutMs` ends the connection.
 * Errors the server answers itself (400, 408, 411, 413, 431, 505) close the connection after the response.
 */
import { ConnReader } from './conn-reader.ts';
import { ConnWriter } from './conn-writer.ts';
import { findHeadEnd, HttpError, leadingEmptyLines, parseHead, type RequestHead, requestUrl } from './http1-parse.ts';
import { headBytes, latin1Bytes, simpleResponse, writeResponse } from './http1-response.ts';
import type { NetLog } from './listener.ts';
import type { NetConn } from './node-conn.ts';
import type { RefusalSink } from './refusals.ts';
import { acceptKey, allowUpgrade, type PendingUpgrade, takeUpgrade } from './upgrade.ts';
import { type Deadline, schedule } from './timers.ts';
import { ABANDON, ATTACH, type ServerWebSocket } from './websocket.ts';

/** What a handler learns about the connection. */
export interface ServeInfo {
  remoteAddr: Deno.NetAddr;
}

/** A fetch-style request handler. */
export type ServeHandler = (req: Request, info: ServeInfo) => Response | Promise<Response>;

/** HTTP limits. */
export interface HttpLimits {
  /** Time for a request head to arrive (default 10 s). */
  headerTimeoutMs: number;
  /** Keep-alive: time allowed between requests (default 30 s). */
  idleTimeoutMs: number;
  /** A write stalled this long ends the connection (default 30 s). */
  writeTimeoutMs: number;
  /** Request head size cap, request line and headers (default 16 KiB; 431 beyond). */
  maxHeadBytes: number;
  /** Request body size cap (default 64 KiB; 413 beyond). */
  maxBodyBytes: number;
}

/** Defaults of the HTTP limits. */
export const HTTP_DEFAULTS: Readonly<HttpLimits> = {
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  writeTimeoutMs: 30_000,
  maxHeadBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
};

/** An upgrade to complete: what the 101 response and the socket need (not the request or the marker response). */
type Upgrade = Pick<PendingUpgrade, 'socket' | 'key' | 'protocol'>;

/** After a response that ends the connection, unread input is drained this long so the peer gets it (no RST). */
const LINGER_MS = 2000;
const CONTINUE = latin1Bytes('HTTP/1.1 100 Continue\r\n\r\n');
const DISCONNECTS = [
  Deno.errors.BadResource,
  Deno.errors.Interrupted,
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.BrokenPipe,
  Deno.errors.NotConnected,
  Deno.errors.UnexpectedEof,
];
/**
 * Read buffer of an upgraded connection: frame headers and small frames (a PeerJS CANDIDATE is ~400 bytes);
 * larger payloads are read directly. Every idle socket holds it under its pending read, so it stays small.
 */
const WS_READ_BUFFER = 1024;

/** One served connection; the server keeps these to shut them down. */
export class HttpConnection {
  #reader: ConnReader;
  #writer: ConnWriter;
  #timer: Deadline | undefined;
  #phase: 'idle' | 'head' | 'busy' | 'websocket' | 'linger' = 'head';
  #destroyed = false;
  #closing = false;
  #socket: ServerWebSocket | undefined;

  constructor(
    private readonly conn: NetConn,
    private readonly limits: HttpLimits,
    private readonly handler: ServeHandler,
    private readonly onRefused: RefusalSink,
    private readonly log: NetLog,
  ) {
    this.#reader = new ConnReader(conn);
    this.#writer = new ConnWriter(conn, {
      timeoutMs: limits.writeTimeoutMs,
      onStall: () => {
        this.onRefused('write-timeout');
        this.destroy();
      },
      onError: () => this.destroy(),
    });
  }

  /** Serves requests until the connection ends; never rejects. */
  async run(): Promise<void> {
    try {
      for (let first = true; !this.#closing; first = false) {
        const outcome = await this.#next(first);
        // The upgrade runs here, outside #serve, so the request and its head are not kept alive with the socket.
        if (typeof outcome !== 'boolean') return await this.#upgrade(outcome);
        if (!outcome) break;
      }
      await this.#lingerClose();
    } catch (err) {
      // Peers vanishing mid-request are routine; anything else is worth a line.
      if (!this.#destroyed && !DISCONNECTS.some((E) => err instanceof E)) this.log('warn', 'connection failed', { err });
    } finally {
      this.#timer?.cancel();
      this.#writer.close();
      this.destroy();
    }
  }

  /** Ends the connection gracefully: idle ones now, busy ones after their response, WebSockets with 1001. */
  shutdown(): void {
    this.#closing = true;
    if (this.#phase === 'idle' || this.#phase === 'head') this.destroy();
    else if (this.#phase === 'websocket' && this.#socket && this.#socket.readyState === 1) this.#socket.close(1001, 'server shutting down');
  }

  /** Closes the TCP connection now (pending reads and writes fail). */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#timer?.cancel();
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  #arm(ms: number, fire: () => void): void {
    this.#timer?.cancel();
    this.#timer = schedule(ms, fire);
  }

  #headTimeout = (): void => {
    this.onRefused('header-timeout');
    if (this.#reader.buffered === 0) return this.destroy();
    this.#writer.write(simpleResponse(408, `Cannot wait longer than ${this.limits.headerTimeoutMs} ms for a request head`));
    this.#arm(1000, () => this.destroy());
    void this.#writer.drain().then(() => this.destroy());
  };

  async #readHead(first: boolean): Promise<RequestHead | null> {
    const max = this.limits.maxHeadBytes;
    const r = this.#reader;
    this.#phase = first || r.buffered > 0 ? 'head' : 'idle';
    if (this.#phase === 'head') this.#arm(this.limits.headerTimeoutMs, this.#headTimeout);
    else this.#arm(this.limits.idleTimeoutMs, () => this.destroy());
    let searched = 0;
    for (;;) {
      const blank = leadingEmptyLines(r.view());
      if (blank > 0) r.consume(blank);
      const end = findHeadEnd(r.view(), searched);
      if (end > max || (end < 0 && r.buffered > max)) {
        await this.#refuse(431, `Cannot accept a request head over ${max} bytes`, 'too-large');
        return null;
      }
      if (end > 0) {
        const bytes = r.view().slice(0, end);
        r.consume(end);
        try {
          return parseHead(bytes);
        } catch (err) {
          const e = err as HttpError;
          await this.#refuse(e.status ?? 400, e.message, e.status === 431 ? 'too-large' : 'bad-request');
          return null;
        }
      }
      searched = Math.max(0, r.buffered - 3);
      if (!(await r.fill(max + 4096))) return null;
      if (this.#phase === 'idle') {
        this.#phase = 'head';
        this.#arm(this.limits.headerTimeoutMs, this.#headTimeout);
      }
    }
  }

  /** Reads and serves the next request: false when the connection must end, else as #serve. */
  async #next(first: boolean): Promise<boolean | Upgrade> {
    const head = await this.#readHead(first);
    return head ? await this.#serve(head) : false;
  }

  /** Serves one request; resolves whether the connection may carry another, or the upgrade to perform. */
  async #serve(head: RequestHead): Promise<boolean | Upgrade> {
    if (head.chunked) return await this.#refuse(411, 'Cannot read a chunked request body: send Content-Length', 'bad-request');
    if (head.contentLength > this.limits.maxBodyBytes) {
      return await this.#refuse(413, `Cannot accept a request body of ${head.contentLength} bytes: the limit is ${this.limits.maxBodyBytes}`, 'too-large');
    }
    let body: Uint8Array<ArrayBuffer> | null = null;
    if (head.contentLength > 0) {
      if (head.headers.some(([n, v]) => n === 'expect' && v.toLowerCase() === '100-continue')) this.#writer.write(CONTINUE);
      this.#arm(this.limits.headerTimeoutMs, () => {
        this.onRefused('header-timeout');
        this.destroy();
      });
      body = await this.#reader.readExact(head.contentLength);
      if (body === null) return false;
    }
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#phase = 'busy';
    let req: Request;
    try {
      const local = this.conn.localAddr as Deno.NetAddr;
      const withBody = body !== null && head.method !== 'GET' && head.method !== 'HEAD';
      req = new Request(requestUrl(head, `${local.hostname.includes(':') ? `[${local.hostname}]` : local.hostname}:${local.port}`), {
        method: head.method,
        headers: head.headers,
        ...(withBody ? { body } : {}),
      });
    } catch (err) {
      return await this.#refuse(err instanceof HttpError ? err.status : 400, (err as Error).message, 'bad-request');
    }
    allowUpgrade(req);
    let res: Response;
    try {
      res = await this.handler(req, { remoteAddr: this.conn.remoteAddr as Deno.NetAddr });
      if (!(res instanceof Response)) throw new TypeError(`Cannot send the handler's answer as it is not a Response: current value is ${typeof res}`);
    } catch (err) {
      this.log('error', 'handler failed', { method: head.method, target: head.target.slice(0, 200), err });
      res = new Response(JSON.stringify({ error: { code: 'internal', message: `Cannot ${head.method} ${head.target.slice(0, 200)}: the handler failed` } }), {
        status: 500,
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
    }
    const upgrade = takeUpgrade(req);
    if (upgrade && res === upgrade.response) return { socket: upgrade.socket, key: upgrade.key, protocol: upgrade.protocol };
    upgrade?.socket[ABANDON]();
    if (this.#destroyed) return false;
    return await writeResponse(this.#writer, res, { head: head.method === 'HEAD', keepAlive: head.keepAlive && !this.#closing, minor: head.minor });
  }

  async #upgrade(up: Upgrade): Promise<void> {
    const fields: [string, string][] = [['upgrade', 'websocket'], ['connection', 'Upgrade'], ['sec-websocket-accept', await acceptKey(up.key)]];
    if (up.protocol) fields.push(['sec-websocket-protocol', up.protocol]);
    if (this.#destroyed || !this.#writer.write(headBytes(101, 'Switching Protocols', fields))) return up.socket[ABANDON]();
    this.#phase = 'websocket';
    this.#socket = up.socket;
    this.#reader.shrink(WS_READ_BUFFER);
    const done = up.socket[ATTACH]({
      reader: this.#reader,
      writer: this.#writer,
      destroy: () => this.destroy(),
      closeWrite: () => void this.conn.closeWrite().catch(() => undefined),
      onRefused: this.onRefused,
    });
    if (this.#closing && up.socket.readyState === 1) up.socket.close(1001, 'server shutting down');
    await done;
  }

  /** Answers an error the server detected itself, then closes; resolves false (the connection is done). */
  async #refuse(status: number, message: string, reason: Parameters<RefusalSink>[0]): Promise<false> {
    this.onRefused(reason);
    this.#timer?.cancel();
    this.#writer.write(simpleResponse(status, message));
    await this.#lingerClose();
    return false;
  }

  /** Flushes, sends FIN, and drains input for a while, so the peer reads our last response before the close. */
  async #lingerClose(): Promise<void> {
    if (this.#destroyed || !(await this.#writer.drain())) return;
    this.#phase = 'linger';
    this.#arm(LINGER_MS, () => this.destroy());
    try {
      await this.conn.closeWrite();
      let drained = this.#reader.buffered;
      this.#reader.consume(drained);
      while (drained < 1024 * 1024 && (await this.#reader.fill(4096))) {
        drained += this.#reader.buffered;
        this.#reader.consume(this.#reader.buffered);
      }
    } catch {
      // reset or closed by the linger timer
    }
  }
}
