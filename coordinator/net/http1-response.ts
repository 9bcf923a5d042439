/**
 * Writes a fetch `Response` as HTTP/1.1: status line, headers, and the body streamed chunk by chunk with
 * backpressure (a 27 MB wasm file is never held whole). Content-Length when the handler gave it or the body
 * turns out to be one chunk; chunked encoding otherwise (close-delimited for HTTP/1.0). No body for HEAD,
 * 1xx, 204 and 304. Framing headers from the handler (Connection, Transfer-Encoding...) are ours to set.
 */
import type { ConnWriter } from './conn-writer.ts';

/** Queued bytes above which body streaming waits for the connection to drain. */
export const BODY_HIGH_WATER = 256 * 1024;

/** How a response is framed on this connection. */
export interface ResponseFraming {
  /** The request was HEAD: headers only. */
  head: boolean;
  /** Whether the server would keep the connection open after this response. */
  keepAlive: boolean;
  /** Request HTTP minor version (0: no chunked encoding). */
  minor: 0 | 1;
}

/** Reason phrases of the statuses this server is likely to send. */
export const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  206: 'Partial Content', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict', 411: 'Length Required',
  413: 'Content Too Large', 414: 'URI Too Long', 426: 'Upgrade Required', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 501: 'Not Implemented',
  503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
};

// Hop-by-hop and framing headers: the connection decides these, not the handler.
const OWN_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer']);

let dateText = '';
let dateSecond = -1;
/** The Date header value, recomputed at most once a second. */
function httpDate(): string {
  const s = Math.floor(Date.now() / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(s * 1000).toUTCString();
  }
  return dateText;
}

/** Bytes of a header block (header values are ByteStrings, i.e. latin1, not UTF-8). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** A status line plus header lines, ending with the blank line. */
export function headBytes(status: number, reason: string, headers: Iterable<[string, string]>): Uint8Array {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [k, v] of headers) text += `${k}: ${v}\r\n`;
  return latin1Bytes(text + '\r\n');
}

/** A small complete response for errors the server answers itself (then closes the connection). */
export function simpleResponse(status: number, message: string): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ error: { code: `http-${status}`, message } }));
  const head = headBytes(status, REASONS[status] ?? 'Error', [
    ['content-type', 'application/json; charset=utf-8'],
    ['content-length', String(body.length)],
    ['connection', 'close'],
    ['date', httpDate()],
  ]);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** Writes `res`; resolves whether the connection may carry another request (false: close it). */
export async function writeResponse(writer: ConnWriter, res: Response, f: ResponseFraming): Promise<boolean> {
  const status = res.status;
  const reason = res.statusText || REASONS[status] || 'Unknown';
  const declaredText = res.headers.get('content-length');
  const declared = declaredText !== null && /^\d{1,15}$/.test(declaredText) ? Number(declaredText) : undefined;
  let keepAlive = f.keepAlive && !/\bclose\b/i.test(res.headers.get('connection') ?? '');
  const lines: [string, string][] = [];
  for (const [k, v] of res.headers) if (!OWN_HEADERS.has(k)) lines.push([k, v]);
  if (!res.headers.has('date')) lines.push(['date', httpDate()]);
  const head = (extra: [string, string][]) => {
    if (!keepAlive) extra.push(['connection', 'close']);
    return writer.write(headBytes(status, reason, [...lines, ...extra]));
  };

  if (status < 200 || status === 204 || status === 304) {
    await res.body?.cancel().catch(() => undefined);
    head(declared !== undefined && status === 304 ? [['content-length', String(declared)]] : []);
    return keepAlive && (await writer.drain());
  }
  if (!res.body) {
    // A HEAD answer without a body may still declare the length a GET would get (static files do).
    head([['content-length', f.head && declared !== undefined ? String(declared) : '0']]);
    return keepAlive && (await writer.drain());
  }
  const reader = res.body.getReader();
  try {
    if (declared !== undefined) {
      head([['content-length', String(declared)]]);
      if (f.head) return keepAlive && (await writer.drain());
      return await pipeSized(writer, reader, declared) && keepAlive;
    }
    const first = await reader.read();
    if (first.done) {
      head([['content-length', '0']]);
      return keepAlive && (await writer.drain());
    }
    const next = reader.read();
    const second = await settledNow(next);
    if (second !== undefined && second.done) {
      // The whole body was one chunk (a string or bytes): send its length, as HEAD does too.
      head([['content-length', String(first.value.length)]]);
      if (!f.head) writer.write(first.value);
      return keepAlive && (await writer.drain());
    }
    if (f.head) {
      head([]);
      return keepAlive && (await writer.drain());
    }
    // Unknown length: chunked for HTTP/1.1, end-of-connection for HTTP/1.0.
    if (f.minor === 0) keepAlive = false;
    head(f.minor === 1 ? [['transfer-encoding', 'chunked']] : []);
    const send = (chunk: Uint8Array) => f.minor === 1 ? writeChunk(writer, chunk) : writer.write(chunk);
    send(first.value);
    if (!(await pipeRest(writer, reader, next, send))) return false;
    if (f.minor === 1) writer.write(latin1Bytes('0\r\n\r\n'));
    return keepAlive && (await writer.drain());
  } catch {
    // The body stream failed midway: the response cannot be completed, so the connection must end.
    return false;
  } finally {
    // A no-op after a complete read; otherwise it closes what feeds the body (an open file, say).
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** The read's result if it settles within this turn of the event loop (a body built from a string does), else undefined. */
async function settledNow<T>(read: Promise<T>): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, 0, undefined)));
  const result = await Promise.race([read, pending]);
  clearTimeout(timer);
  return result;
}

function writeChunk(writer: ConnWriter, chunk: Uint8Array): boolean {
  if (chunk.length === 0) return true;
  writer.write(latin1Bytes(`${chunk.length.toString(16)}\r\n`));
  writer.write(chunk);
  return writer.write(latin1Bytes('\r\n'));
}

async function pipeSized(writer: ConnWriter, reader: ReadableStreamDefaultReader<Uint8Array>, declared: number): Promise<boolean> {
  let sent = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const chunk = sent + value.length > declared ? value.subarray(0, declared - sent) : value;
    sent += chunk.length;
    if (!writer.write(chunk)) return false;
    if (value.length !== chunk.length) return false; // longer than declared: the handler's framing is wrong
    if (writer.queued > BODY_HIGH_WATER && !(await writer.drain(BODY_HIGH_WATER / 2))) return false;
  }
  // Too short or too long: the framing no longer matches, so the connection cannot be reused.
  if (sent !== declared) return false;
  return await writer.drain();
}

async function pipeRest(
  writer: ConnWriter,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  next: Promise<ReadableStreamReadResult<Uint8Array>>,
  send: (chunk: Uint8Array) => boolean,
): Promise<boolean> {
  for (let r = await next; !r.done; r = await reader.read()) {
    if (!send(r.value)) return false;
    if (writer.queued > BODY_HIGH_WATER && !(await writer.drain(BODY_HIGH_WATER / 2))) return false;
  }
  return true;
}
