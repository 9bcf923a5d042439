/**
 * Strict HTTP/1.1 request-head parsing (RFC 9112): request line, header fields, Host, and the body framing
 * headers. Anything ambiguous is refused rather than guessed at: obsolete line folding, bare CR or LF,
 * whitespace before the colon, both Content-Length and Transfer-Encoding, and conflicting lengths are all
 * request-smuggling vectors, so they get a 400 (RFC 9112 sections 5, 6.3 and 11.2).
 */

/** An HTTP error answered with `status` and the connection closed. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request-target as sent (origin-form, absolute-form or `*`). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  /** Header fields in order, names lower-cased. */
  headers: [string, string][];
  /** Declared body length (0 when none). */
  contentLength: number;
  /** Whether the request carries Transfer-Encoding (refused by the server as it takes sized bodies only). */
  chunked: boolean;
  /** Whether the connection should stay open after the response. */
  keepAlive: boolean;
}

/** Most header fields accepted in one head. */
export const MAX_HEADER_COUNT = 100;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; no CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;
const latin1 = new TextDecoder('latin1');

/** Offset just past the CRLFCRLF that ends a head in `buf`, or -1; `from` skips bytes already searched. */
export function findHeadEnd(buf: Uint8Array, from = 0): number {
  for (let i = Math.max(3, from + 3); i < buf.length; i++) {
    if (buf[i] === 0x0a && buf[i - 1] === 0x0d && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) return i + 1;
  }
  return -1;
}

/** Count of leading CRLF pairs (empty lines a client may send before a request line, RFC 9112 section 2.2). */
export function leadingEmptyLines(buf: Uint8Array): number {
  let i = 0;
  while (i + 1 < buf.length && buf[i] === 0x0d && buf[i + 1] === 0x0a) i += 2;
  return i;
}

/** Parses a complete head (including its final CRLFCRLF); throws HttpError on anything malformed. */
export function parseHead(bytes: Uint8Array): RequestHead {
  const text = latin1.decode(bytes);
  const lines = text.slice(0, -4).split('\r\n');
  for (const line of lines) {
    if (line.includes('\r') || line.includes('\n')) throw new HttpError(400, 'Cannot parse a request head with a bare CR or LF');
  }
  const [method, target, version, ...extra] = lines[0]!.split(' ');
  if (extra.length > 0 || method === undefined || target === undefined || version === undefined) {
    throw new HttpError(400, `Cannot parse the request line as it is not 'METHOD target HTTP/1.x': current value is ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  }
  if (!TOKEN.test(method)) throw new HttpError(400, `Cannot parse the method as it is not a token: current value is ${JSON.stringify(method.slice(0, 40))}`);
  if (!TARGET.test(target)) throw new HttpError(400, `Cannot parse the request target as it holds spaces or control bytes: current value is ${JSON.stringify(target.slice(0, 80))}`);
  if (!target.startsWith('/') && target !== '*' && !/^https?:\/\//i.test(target)) {
    throw new HttpError(400, `Cannot parse the request target as it is neither a path nor an absolute URL: current value is ${JSON.stringify(target.slice(0, 80))}`);
  }
  let minor: 0 | 1;
  if (version === 'HTTP/1.1') minor = 1;
  else if (version === 'HTTP/1.0') minor = 0;
  else if (/^HTTP\/\d\.\d$/.test(version)) throw new HttpError(505, `Cannot speak ${version}: this server speaks HTTP/1.1`);
  else throw new HttpError(400, `Cannot parse the HTTP version: current value is ${JSON.stringify(version.slice(0, 20))}`);

  if (lines.length - 1 > MAX_HEADER_COUNT) throw new HttpError(431, `Cannot accept ${lines.length - 1} header fields: the limit is ${MAX_HEADER_COUNT}`);
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(' ') || line.startsWith('\t')) throw new HttpError(400, 'Cannot parse a folded header line (obs-fold)');
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new HttpError(400, `Cannot parse a header field name: current value is ${JSON.stringify(line.slice(0, 40))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!FIELD_VALUE.test(value)) throw new HttpError(400, `Cannot accept the value of '${name}' as it holds control bytes`);
    headers.push([name.toLowerCase(), value]);
  }
  return { method, target, minor, headers, ...framing(headers, minor) };
}

function framing(headers: [string, string][], minor: 0 | 1): Pick<RequestHead, 'contentLength' | 'chunked' | 'keepAlive'> {
  let contentLength: number | undefined;
  let chunked = false;
  let hosts = 0;
  const connection: string[] = [];
  for (const [name, value] of headers) {
    if (name === 'host') hosts++;
    else if (name === 'transfer-encoding') chunked = true;
    else if (name === 'connection') connection.push(...value.toLowerCase().split(',').map((t) => t.trim()));
    else if (name === 'content-length') {
      // "5, 5" is legal (RFC 9110 section 8.6) but only if every member agrees.
      for (const part of value.split(',')) {
        const v = part.trim();
        if (!/^\d{1,15}$/.test(v)) throw new HttpError(400, `Cannot parse Content-Length: current value is ${JSON.stringify(value.slice(0, 40))}`);
        if (contentLength !== undefined && contentLength !== Number(v)) throw new HttpError(400, `Cannot accept conflicting Content-Length values: current value is ${JSON.stringify(value.slice(0, 40))}`);
        contentLength = Number(v);
      }
    }
  }
  if (minor === 1 && hosts !== 1) throw new HttpError(400, `Cannot accept an HTTP/1.1 request without exactly one Host header: current count is ${hosts}`);
  if (hosts > 1) throw new HttpError(400, `Cannot accept a request with ${hosts} Host headers`);
  if (chunked && contentLength !== undefined) throw new HttpError(400, 'Cannot accept a request with both Transfer-Encoding and Content-Length');
  const keepAlive = minor === 1 ? !connection.includes('close') : connection.includes('keep-alive');
  return { contentLength: contentLength ?? 0, chunked, keepAlive };
}

/** The absolute URL of a request: absolute-form targets as sent, others resolved against Host. */
export function requestUrl(head: RequestHead, fallbackHost: string): string {
  if (head.target !== '*' && !head.target.startsWith('/')) return validUrl(head.target);
  const host = head.headers.find(([n]) => n === 'host')?.[1] || fallbackHost;
  // Host must be host[:port] only: no path, userinfo or query riding along.
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_~%!$&'()*+,;=]+)(:\d{1,5})?$/.test(host)) {
    throw new HttpError(400, `Cannot parse the Host header: current value is ${JSON.stringify(host.slice(0, 80))}`);
  }
  return validUrl(`http://${host}${head.target === '*' ? '/' : head.target}`);
}

function validUrl(text: string): string {
  try {
    return new URL(text).href;
  } catch {
    throw new HttpError(400, `Cannot parse the request URL: current value is ${JSON.stringify(text.slice(0, 80))}`);
  }
}

/** Whether a comma-separated header holds `token` (case-insensitive), e.g. Connection: keep-alive, Upgrade. */
export function hasToken(value: string | null, token: string): boolean {
  if (!value) return false;
  return value.toLowerCase().split(',').some((t) => t.trim() === token);
}
