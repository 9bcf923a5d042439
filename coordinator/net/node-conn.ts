/**
 * TCP through `node:net` instead of `Deno.listen`: a listener and connections with the small part of the
 * Deno.Conn surface the server uses (read, write, close, closeWrite, addresses).
 * Why: with thousands of busy connections, reads issued through `Deno.Conn.read()` complete in a very
 * unfair order once the process is CPU-bound: in the signalling bench (1,002 pairs in a closed loop) a
 * few reads waited 1-6 s while the median round trip was 13 ms (p99 >= 2 s), and a 40-line relay on
 * Deno.Conn showed the same tail, so it is not our framing. The same relay on node:net inside Deno served
 * every connection in turn (p99 ~110-140 ms) at a higher rate. Node sockets push data; this adapter turns
 * that back into pull reads, pausing a socket while more than PAUSE_BYTES wait unread (TCP backpressure
 * then reaches the peer, as with pull reads).
 * Known limit: node:net's accept loop in Deno 2.9 stops for good after accept() fails for want of descriptors
 * (EMFILE; no 'error' event, the backlog just fills), where the Deno.listen loop (listener.ts) sheds load and
 * recovers. Use this only where descriptors cannot run out before the connection cap is reached
 * (`fairTransportFits`).
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { setImmediate } from 'node:timers';

/** The part of a TCP connection the HTTP and WebSocket layers use (a Deno.Conn has all of it). */
export interface NetConn {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** Unread bytes a connection holds before its socket is paused. */
export const PAUSE_BYTES = 64 * 1024;
/**
 * Bytes one connection may read from what it holds before the next read waits a turn of the event loop.
 * Reads served from held bytes resolve at once, so without this a flooding peer's frames would all be
 * handled in one run of microtasks while every other connection waits (probe echoes took 600 ms). 64 KiB:
 * one large signalling message, or ~160 small frames, per turn.
 */
export const BURST_BYTES = 64 * 1024;

interface PendingRead {
  p: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (err: Error) => void;
}

/** A node:net socket read and written like a Deno.Conn. */
export class NodeConn implements NetConn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  /** Received chunks not yet read; the first may be partly read (#offset). */
  #chunks: Buffer[] = [];
  #offset = 0;
  #unread = 0;
  #pending: PendingRead | undefined;
  #ended = false;
  #error: Error | undefined;
  #paused = false;
  /** Bytes read since this connection last waited for the event loop. */
  #burst = 0;

  constructor(private readonly sock: net.Socket) {
    this.localAddr = netAddr(sock.localAddress, sock.localPort);
    this.remoteAddr = netAddr(sock.remoteAddress, sock.remotePort);
    sock.on('data', (chunk: Buffer) => this.#onData(chunk));
    sock.on('end', () => this.#finish(undefined));
    sock.on('error', (err: Error) => this.#finish(new Deno.errors.ConnectionReset(err.message)));
    sock.on('close', () => this.#finish(new Deno.errors.BadResource('Cannot read as the connection is closed')));
  }

  /** Bytes received and not yet read. */
  get unread(): number {
    return this.#unread;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#pending) return Promise.reject(new Deno.errors.Busy('Cannot read as a read is already pending'));
    if (this.#unread > 0) {
      if (this.#burst >= BURST_BYTES) {
        return new Promise((resolve, reject) => {
          setImmediate(() => {
            this.#burst = 0;
            this.read(p).then(resolve, reject);
          });
        });
      }
      const n = this.#copyOut(p);
      this.#burst += n;
      return Promise.resolve(n);
    }
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#pending = { p, resolve, reject }));
  }

  write(p: Uint8Array): Promise<number> {
    const sock = this.sock;
    if (sock.destroyed || !sock.writable) return Promise.reject(new Deno.errors.BrokenPipe('Cannot write as the connection is closed'));
    // Node may keep the bytes until the kernel takes them, and the caller reuses `p` once this resolves, so
    // node gets a copy. Resolving at once (not on node's callback) saves a turn per write; node's own queue
    // stays bounded: past its high-water mark this waits for 'drain', so a stalled peer still stalls the writer.
    if (sock.write(Buffer.from(p))) return Promise.resolve(p.length);
    return new Promise((resolve, reject) => {
      const done = () => {
        sock.off('drain', done);
        sock.off('close', done);
        if (sock.destroyed) reject(new Deno.errors.BrokenPipe('Cannot write as the connection is closed'));
        else resolve(p.length);
      };
      sock.on('drain', done);
      sock.on('close', done);
    });
  }

  closeWrite(): Promise<void> {
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve();
      this.sock.end(() => resolve());
    });
  }

  close(): void {
    this.sock.destroy();
    this.#finish(new Deno.errors.BadResource('Cannot read as the connection is closed'));
  }

  #onData(chunk: Buffer): void {
    const pending = this.#pending;
    if (pending && this.#unread === 0) {
      this.#pending = undefined;
      const n = Math.min(chunk.length, pending.p.length);
      pending.p.set(n === chunk.length ? chunk : chunk.subarray(0, n));
      this.#burst = n;
      if (n < chunk.length) this.#queue(chunk.subarray(n));
      pending.resolve(n);
      return;
    }
    this.#queue(chunk);
  }

  #queue(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#unread += chunk.length;
    if (this.#unread > PAUSE_BYTES && !this.#paused) {
      this.#paused = true;
      this.sock.pause();
    }
  }

  #copyOut(p: Uint8Array): number {
    let n = 0;
    while (n < p.length && this.#chunks.length > 0) {
      const c = this.#chunks[0]!;
      const take = Math.min(c.length - this.#offset, p.length - n);
      p.set(c.subarray(this.#offset, this.#offset + take), n);
      n += take;
      this.#offset += take;
      if (this.#offset === c.length) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    this.#unread -= n;
    if (this.#paused && this.#unread <= PAUSE_BYTES / 2) {
      this.#paused = false;
      this.sock.resume();
    }
    return n;
  }

  /** End of input (err undefined) or failure: a pending read gets null or the error once nothing is left unread. */
  #finish(err: Error | undefined): void {
    if (err) this.#error ??= err;
    else this.#ended = true;
    const pending = this.#pending;
    if (!pending || this.#unread > 0) return;
    this.#pending = undefined;
    if (this.#ended && !err) pending.resolve(null);
    else pending.reject(this.#error!);
  }
}

/** Listener options. */
export interface NodeListenOptions {
  hostname: string;
  port: number;
}

/** A node:net server as an accept() source; listening has started when this returns (the port is bound). */
export async function listenNode(opts: NodeListenOptions): Promise<{ addr: Deno.NetAddr; accept(): Promise<NetConn>; close(): void }> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true });
  const ready: NetConn[] = [];
  const waiting: { resolve: (c: NetConn) => void; reject: (e: Error) => void }[] = [];
  const errors: Error[] = [];
  let closed = false;
  server.on('connection', (sock: net.Socket) => {
    sock.setNoDelay(true);
    const conn = new NodeConn(sock);
    const w = waiting.shift();
    if (w) w.resolve(conn);
    else ready.push(conn);
  });
  server.on('error', (err: Error) => {
    const w = waiting.shift();
    if (w) w.reject(err);
    else errors.push(err);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.hostname, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as net.AddressInfo;
  return {
    addr: netAddr(a.address, a.port),
    accept: () => {
      const c = ready.shift();
      if (c) return Promise.resolve(c);
      const e = errors.shift();
      if (e) return Promise.reject(e);
      if (closed) return Promise.reject(new Deno.errors.BadResource('Cannot accept as the listener is closed'));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    close: () => {
      if (closed) return;
      closed = true;
      server.close();
      for (const c of ready.splice(0)) c.close();
      for (const w of waiting.splice(0)) w.reject(new Deno.errors.BadResource('Cannot accept as the listener is closed'));
    },
  };
}

/**
 * Whether a descriptor limit leaves room for `maxConns` connections plus 1,024 more: the process's other
 * descriptors, and connections over the cap, which are accepted only to be closed at once (listener.ts).
 */
export function fairTransportFits(softFdLimit: number, maxConns: number): boolean {
  return softFdLimit >= maxConns + 1024;
}

function netAddr(address: string | undefined, port: number | undefined): Deno.NetAddr {
  // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; per-address caps want the plain form.
  const hostname = address?.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address ?? '';
  return { transport: 'tcp', hostname, port: port ?? 0 };
}
