/**
 * The accept loop. It never throws out of the process: an accept error (EMFILE/ENFILE when descriptors run
 * out, or anything else) is counted, logged at most once a second, and accepting resumes after a short
 * backoff. When descriptors run out, a reserved spare descriptor is given up for a moment so the waiting
 * connection can be accepted and closed at once (shedding load instead of leaving clients in the backlog).
 * Connections over the global or per-address cap are accepted and closed at once, freeing their descriptor.
 */
import { IpCap } from '../limits/ip-cap.ts';
import type { NetConn } from './node-conn.ts';
import type { RefusalSink } from './refusals.ts';

/** Where connections come from: a Deno.Listener, a node:net listener (node-conn.ts), or a test wrapper. */
export interface AcceptSource {
  accept(): Promise<NetConn>;
  close(): void;
  readonly addr: Deno.Addr;
}

/** Structured log callback (the coordinator passes its logger). */
export type NetLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Listener limits. */
export interface ListenerLimits {
  /** Open connections in all (default 10,000). */
  maxConns: number;
  /** Open connections per remote address (default 256). */
  maxConnsPerAddr: number;
  /** Pause after an accept error, in ms (default 100). */
  acceptBackoffMs: number;
  /** Addresses the per-address cap does not apply to (trusted reverse proxies). */
  uncappedAddrs?: ReadonlySet<string>;
}

/** Defaults of the listener limits. */
export const LISTENER_DEFAULTS: Readonly<ListenerLimits> = { maxConns: 10_000, maxConnsPerAddr: 256, acceptBackoffMs: 100 };

const OUT_OF_FDS = /too many open files|os error 2[34]\b|EMFILE|ENFILE/i;

/** Optional observers of the accept loop. */
export interface ListenerHooks {
  onRefused?: RefusalSink;
  onAcceptError?: (err: unknown) => void;
  log?: NetLog;
}

/** Accepts connections under caps and hands each to `onConn` with a release function to call when it ends. */
export class ConnectionListener {
  #open = 0;
  #perAddr: IpCap;
  #closed = false;
  #wake: (() => void) | undefined;
  #spare: Deno.FsFile | undefined;
  #lastLog = -Infinity;
  #unlogged = 0;
  /** Accept errors since start. */
  acceptErrors = 0;

  constructor(
    private readonly source: AcceptSource,
    private readonly limits: ListenerLimits,
    private readonly onConn: (conn: NetConn, release: () => void) => void,
    private readonly hooks: ListenerHooks = {},
  ) {
    for (const key of ['maxConns', 'maxConnsPerAddr'] as const) {
      if (!Number.isSafeInteger(limits[key]) || limits[key] < 1) {
        throw new RangeError(`Cannot listen as '${key}' must be a positive integer: current value is ${limits[key]}`);
      }
    }
    this.#perAddr = new IpCap(limits.maxConnsPerAddr);
    this.#spare = openSpare();
  }

  /** Connections accepted and not yet released. */
  get open(): number {
    return this.#open;
  }

  /** Runs until close(); resolves then. Never rejects. */
  async run(): Promise<void> {
    while (!this.#closed) {
      let conn: NetConn;
      try {
        conn = await this.source.accept();
      } catch (err) {
        if (this.#closed) break;
        await this.#acceptFailed(err);
        continue;
      }
      if (this.#closed) {
        closeQuietly(conn);
        break;
      }
      this.#admit(conn);
    }
    this.#spare?.close();
    this.#spare = undefined;
  }

  /** Stops accepting (connections already handed out are their owners' to close). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    try {
      this.source.close();
    } catch {
      // already closed
    }
  }

  #admit(conn: NetConn): void {
    const addr = conn.remoteAddr.transport === 'tcp' || conn.remoteAddr.transport === 'udp' ? conn.remoteAddr.hostname : conn.remoteAddr.transport;
    if (this.#open >= this.limits.maxConns) {
      closeQuietly(conn);
      this.hooks.onRefused?.('global-cap');
      return;
    }
    const release = this.limits.uncappedAddrs?.has(addr) ? () => {} : this.#perAddr.acquire(addr);
    if (!release) {
      closeQuietly(conn);
      this.hooks.onRefused?.('address-cap');
      return;
    }
    this.#open++;
    let released = false;
    this.onConn(conn, () => {
      if (released) return;
      released = true;
      this.#open--;
      release();
    });
  }

  async #acceptFailed(err: unknown): Promise<void> {
    this.acceptErrors++;
    this.hooks.onAcceptError?.(err);
    this.#unlogged++;
    const now = performance.now();
    if (now - this.#lastLog >= 1000) {
      this.hooks.log?.('warn', 'accept failed', { err, errors: this.#unlogged, total: this.acceptErrors, open: this.#open });
      this.#lastLog = now;
      this.#unlogged = 0;
    }
    if (this.#spare && OUT_OF_FDS.test(String((err as Error)?.message ?? err))) {
      // Free one descriptor and take the waiting connection; if the spare cannot be had back, descriptors
      // are still short, so that connection is closed at once rather than left waiting in the backlog.
      this.#spare.close();
      this.#spare = undefined;
      try {
        const conn = await this.source.accept();
        this.#spare = this.#closed ? undefined : openSpare();
        if (this.#spare && !this.#closed) this.#admit(conn);
        else {
          closeQuietly(conn);
          this.hooks.onRefused?.('no-descriptors');
        }
      } catch (again) {
        // still failing: the backoff below applies
        this.acceptErrors++;
        this.hooks.onAcceptError?.(again);
      }
      if (!this.#closed) this.#spare ??= openSpare();
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.limits.acceptBackoffMs);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }
}

function openSpare(): Deno.FsFile | undefined {
  try {
    return Deno.openSync('/dev/null', { read: true });
  } catch {
    return undefined;
  }
}

function closeQuietly(conn: NetConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
