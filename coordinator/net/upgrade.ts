/**
 * `upgradeWebSocket()`: the drop-in for `Deno.upgradeWebSocket` inside a handler run by `serve()`. It checks
 * the handshake headers (RFC 6455 section 4.2.1) and returns a CONNECTING socket plus a marker response;
 * when the handler returns that response, the HTTP connection writes the 101 answer and hands itself over.
 * Requests are tied to their connection through a WeakMap, so nothing leaks when a request is dropped.
 */
import { hasToken } from './http1-parse.ts';
import { ServerWebSocket } from './websocket.ts';
import type { WebSocketLimits } from './ws-limits.ts';

/** Options of one upgrade: the limits of the new socket and an optional subprotocol to accept. */
export interface UpgradeOptions extends Partial<WebSocketLimits> {
  /** Subprotocol to announce in Sec-WebSocket-Protocol (must be one the client offered). */
  protocol?: string;
}

/** What the handler gets back, as from Deno.upgradeWebSocket. */
export interface WebSocketUpgrade {
  socket: ServerWebSocket;
  /** Return this from the handler; its status reads 101. */
  response: Response;
}

/** An upgrade the connection must complete: the socket and its Sec-WebSocket-Accept value's input. */
export interface PendingUpgrade {
  socket: ServerWebSocket;
  response: Response;
  key: string;
  protocol: string;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const upgradable = new WeakMap<Request, { pending?: PendingUpgrade }>();

/** Marks a request as served by this server's connection (so it may be upgraded). */
export function allowUpgrade(req: Request): void {
  upgradable.set(req, {});
}

/** The upgrade a handler started for this request, if any; the request can no longer be upgraded after. */
export function takeUpgrade(req: Request): PendingUpgrade | undefined {
  const pending = upgradable.get(req)?.pending;
  upgradable.delete(req);
  return pending;
}

/** Upgrades a request to a WebSocket; throws TypeError when the request is not a valid upgrade from serve(). */
export function upgradeWebSocket(req: Request, opts: UpgradeOptions = {}): WebSocketUpgrade {
  const slot = upgradable.get(req);
  if (!slot) throw new TypeError('Cannot upgrade a request that did not come from coordinator/net serve()');
  if (slot.pending) throw new TypeError('Cannot upgrade a request twice');
  if (req.method !== 'GET') throw new TypeError(`Cannot upgrade a ${req.method} request: WebSocket handshakes are GET`);
  if (!hasToken(req.headers.get('upgrade'), 'websocket')) {
    throw new TypeError(`Cannot upgrade as the 'upgrade' header is not 'websocket': current value is ${req.headers.get('upgrade')}`);
  }
  if (!hasToken(req.headers.get('connection'), 'upgrade')) {
    throw new TypeError(`Cannot upgrade as the 'connection' header lacks 'upgrade': current value is ${req.headers.get('connection')}`);
  }
  const version = req.headers.get('sec-websocket-version');
  if (version !== '13') throw new TypeError(`Cannot upgrade as 'sec-websocket-version' must be 13: current value is ${version}`);
  const key = req.headers.get('sec-websocket-key') ?? '';
  if (!isNonce(key)) throw new TypeError(`Cannot upgrade as 'sec-websocket-key' is not 16 bytes in base64: current value is ${key.slice(0, 40)}`);
  const protocol = opts.protocol ?? '';
  if (protocol !== '') {
    const offered = (req.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    if (!offered.includes(protocol)) throw new TypeError(`Cannot accept subprotocol '${protocol}' as the client did not offer it: offered ${offered.join(', ')}`);
  }
  const { protocol: _, ...limits } = opts;
  const socket = new ServerWebSocket(req.url.replace(/^http/, 'ws'), protocol, limits);
  // A Response cannot be built with status 101, so a 200 stands in and reports 101 like Deno's does.
  const response = new Response(null, { status: 200 });
  Object.defineProperty(response, 'status', { value: 101 });
  Object.defineProperty(response, 'statusText', { value: 'Switching Protocols' });
  slot.pending = { socket, response, key, protocol };
  return { socket, response };
}

/** Sec-WebSocket-Accept for a client key: base64(SHA-1(key + GUID)). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(key + WS_GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function isNonce(key: string): boolean {
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return false;
  try {
    return atob(key).length === 16;
  } catch {
    return false;
  }
}
