/**
 * Ordered, non-blocking writes to a TCP connection. `write()` queues and returns at once; one pump writes
 * queued chunks in order, joining small ones into a single write of up to COALESCE_BYTES to save syscalls.
 * `queued` counts bytes not yet handed to the kernel (WebSocket.bufferedAmount). A write that makes no
 * progress for `timeoutMs` (a peer that stopped reading) calls `onStall`, whose owner closes the connection;
 * one timer per connection checks this, not one per write.
 */

/** Small queued chunks are joined into writes of up to this many bytes. */
export const COALESCE_BYTES = 64 * 1024;

/** What a writer writes to (a Deno.Conn, or a fake in tests). */
export interface ByteSink {
  write(p: Uint8Array): Promise<number>;
}

/** Writer settings. */
export interface ConnWriterOptions {
  /** A single write pending longer than this counts as stalled (0 disables the check). */
  timeoutMs: number;
  /** Called once when a write stalls. */
  onStall: () => void;
  /** Called once when a write fails (the connection is gone). */
  onError?: (err: unknown) => void;
}

interface DrainWaiter {
  lowWater: number;
  resolve: (ok: boolean) => void;
}

/** A FIFO of byte chunks pumped into a connection. */
export class ConnWriter {
  #queue: Uint8Array[] = [];
  #queued = 0;
  #pumping = false;
  #closed = false;
  #waiters: DrainWaiter[] = [];
  #inflightSince = 0;
  #watchdog: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly sink: ByteSink, private readonly opts: ConnWriterOptions) {}

  /** Bytes queued or in flight, not yet accepted by the kernel. */
  get queued(): number {
    return this.#queued;
  }

  /** Whether the writer was closed (explicitly or by a failed write). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `chunk` (not copied: do not reuse it); false when the writer is closed. */
  write(chunk: Uint8Array): boolean {
    if (this.#closed) return false;
    if (chunk.length === 0) return true;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (!this.#pumping) void this.#pump();
    return true;
  }

  /** Drops queued chunks that have not started writing; returns the bytes dropped. */
  dropQueued(): number {
    let dropped = 0;
    for (const c of this.#queue) dropped += c.length;
    this.#queue = [];
    this.#queued -= dropped;
    return dropped;
  }

  /** Resolves true once `queued <= lowWater`, false if the writer closes first. */
  drain(lowWater = 0): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#queued <= lowWater) return Promise.resolve(true);
    return new Promise((resolve) => this.#waiters.push({ lowWater, resolve }));
  }

  /** Stops writing: drops the queue and fails pending drains. The connection itself is the owner's. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.dropQueued();
    clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    for (const w of this.#waiters.splice(0)) w.resolve(false);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const buf = this.#take();
        this.#inflightSince = performance.now();
        this.#armWatchdog();
        let off = 0;
        while (off < buf.length) {
          const n = await this.sink.write(off === 0 ? buf : buf.subarray(off));
          off += n;
          this.#queued -= n;
          this.#inflightSince = performance.now();
          if (this.#closed) return;
        }
        this.#inflightSince = 0;
        this.#notify();
      }
    } catch (err) {
      if (!this.#closed) {
        this.close();
        this.opts.onError?.(err);
      }
    } finally {
      this.#pumping = false;
      this.#inflightSince = 0;
    }
  }

  /** The next write: the first chunk, joined with following small ones up to COALESCE_BYTES. */
  #take(): Uint8Array {
    const first = this.#queue.shift()!;
    if (first.length >= COALESCE_BYTES || this.#queue.length === 0) return first;
    let total = first.length;
    let count = 0;
    while (count < this.#queue.length && total + this.#queue[count]!.length <= COALESCE_BYTES) total += this.#queue[count++]!.length;
    if (count === 0) return first;
    const out = new Uint8Array(total);
    out.set(first);
    let off = first.length;
    for (const c of this.#queue.splice(0, count)) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  #notify(): void {
    if (this.#waiters.length === 0) return;
    const keep: DrainWaiter[] = [];
    for (const w of this.#waiters) {
      if (this.#queued <= w.lowWater) w.resolve(true);
      else keep.push(w);
    }
    this.#waiters = keep;
  }

  #armWatchdog(): void {
    if (this.opts.timeoutMs <= 0 || this.#watchdog !== undefined) return;
    const check = () => {
      this.#watchdog = undefined;
      if (this.#closed || this.#inflightSince === 0) return;
      const waited = performance.now() - this.#inflightSince;
      if (waited >= this.opts.timeoutMs) {
        this.opts.onStall();
        return;
      }
      this.#watchdog = setTimeout(check, this.opts.timeoutMs - waited);
    };
    this.#watchdog = setTimeout(check, this.opts.timeoutMs);
  }
}
