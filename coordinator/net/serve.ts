/**
 * `serve()`: the listener, HTTP/1.1 connections and WebSocket upgrades put together, in place of
 * `Deno.serve`. Shutdown stops accepting, closes idle connections, lets busy ones finish their response,
 * sends WebSockets 1001, and destroys whatever is left after a grace period.
 */
import { HTTP_DEFAULTS, HttpConnection, type HttpLimits, type ServeHandler } from './http1.ts';
import { type AcceptSource, ConnectionListener, LISTENER_DEFAULTS, type ListenerLimits, type NetLog } from './listener.ts';
import { listenNode } from './node-conn.ts';
import type { RefusalSink } from './refusals.ts';

/** Options of serve(): where to listen, every limit, and hooks for logs and metrics. */
export interface ServeOptions extends Partial<ListenerLimits & HttpLimits> {
  /** Addresses exempt from the per-address cap (trusted reverse proxies: the caller caps their clients). */
  uncappedAddrs?: ReadonlySet<string>;
  /** Listen address (default 127.0.0.1). */
  hostname?: string;
  /** TCP port; 0 picks a free one (default 0). */
  port?: number;
  /** Counts refusals (metrics). */
  onRefused?: RefusalSink;
  /** Called on each accept error (counted; the loop carries on). */
  onAcceptError?: (err: unknown) => void;
  /** Receives warnings and errors (accept failures, handler exceptions). */
  log?: NetLog;
  /** Replaces Deno.listen, e.g. to inject accept failures in tests. */
  listen?: (opts: { hostname: string; port: number }) => AcceptSource;
}

/** A running server. */
export interface NetServer {
  /** The bound address (the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Connections open now (HTTP and WebSocket). */
  readonly openConnections: number;
  /** Accept errors since start. */
  readonly acceptErrors: number;
  /** Stops accepting and ends every connection; resolves when all are gone (at most `graceMs` plus a moment). */
  shutdown(graceMs?: number): Promise<void>;
}

/** Starts serving `handler` on a TCP port. */
export function serve(options: ServeOptions, handler: ServeHandler): NetServer {
  const limits: ListenerLimits & HttpLimits = { ...LISTENER_DEFAULTS, ...HTTP_DEFAULTS };
  for (const key of Object.keys(limits) as Exclude<keyof typeof limits, 'uncappedAddrs'>[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`Cannot serve as '${key}' must be a positive integer: current value is ${v}`);
    limits[key] = v;
  }
  const onRefused = options.onRefused ?? (() => {});
  const log = options.log ?? (() => {});
  const hostname = options.hostname ?? '127.0.0.1';
  const port = options.port ?? 0;
  const source = options.listen ? options.listen({ hostname, port }) : Deno.listen({ hostname, port, transport: 'tcp' });
  const connections = new Map<HttpConnection, Promise<void>>();
  const listener = new ConnectionListener(source, { ...limits, uncappedAddrs: options.uncappedAddrs ?? new Set() }, (conn, release) => {
    const c = new HttpConnection(conn, limits, handler, onRefused, log);
    const done = c.run().finally(() => {
      connections.delete(c);
      release();
    });
    connections.set(c, done);
  }, { onRefused, log, ...(options.onAcceptError ? { onAcceptError: options.onAcceptError } : {}) });
  const accepting = listener.run();
  let stopping: Promise<void> | undefined;
  return {
    addr: source.addr as Deno.NetAddr,
    get openConnections() {
      return listener.open;
    },
    get acceptErrors() {
      return listener.acceptErrors;
    },
    shutdown: (graceMs = 5000) =>
      stopping ??= (async () => {
        listener.close();
        await accepting;
        for (const c of connections.keys()) c.shutdown();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
        await Promise.race([Promise.all(connections.values()), grace]);
        clearTimeout(timer);
        for (const c of connections.keys()) c.destroy();
        await Promise.all(connections.values());
      })(),
  };
}

/**
 * serve() on a node:net listener (node-conn.ts) instead of Deno.listen: the same server, with reads served
 * fairly across thousands of busy connections. Async because node binds the port asynchronously.
 */
export async function serveNode(options: Omit<ServeOptions, 'listen'>, handler: ServeHandler): Promise<NetServer> {
  const source = await listenNode({ hostname: options.hostname ?? '127.0.0.1', port: options.port ?? 0 });
  try {
    return serve({ ...options, listen: () => source }, handler);
  } catch (err) {
    source.close();
    throw err;
  }
}
