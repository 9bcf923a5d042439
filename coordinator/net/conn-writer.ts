/**
 * Ordered, non-blocking writes to a TCP connection. `write()` queues and returns at once; one pump writes
 * queued chunks in order, joining small ones into a single write of up to COALESCE_BYTES to save syscalls.
 * Small frames can instead be built in place (`reserve()` + `commit()`) in a pooled tail buffer: allocating
 * a typed array costs ~0.6 µs in Deno whatever its size, more than encoding a small message, so the hot
 * path allocates nothing. The tail goes back to a shared pool whenever the writer drains, so an idle
 * connection holds no write buffer.
 * `queued` counts bytes not yet handed to the kernel (WebSocket.bufferedAmount). A write that makes no
 * progress for `timeoutMs` (a peer that stopped reading) calls `onStall`, whose owner closes the connection;
 * one deadline per connection checks this, not one per write.
 */
import { type Deadline, schedule } from './timers.ts';

/** Small queued chunks are joined into writes of up to this many bytes. */
export const COALESCE_BYTES = 64 * 1024;
/** Size of a pooled tail buffer; reserve() serves at most this many bytes. */
export const TAIL_BYTES = 16 * 1024;
const POOL_MAX = 256;
const pool: Uint8Array[] = [];

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
  #watchdog: Deadline | undefined;
  /** Pooled buffer small frames are built in; [#sealed, #end) is committed but not yet queued. */
  #tail: Uint8Array | undefined;
  #sealed = 0;
  #end = 0;

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
    this.#seal();
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (!this.#pumping) void this.#pump();
    return true;
  }

  /** Room for `n` bytes (n <= TAIL_BYTES) to build a chunk in; nothing is queued until commit(). */
  reserve(n: number): Uint8Array {
    if (n > TAIL_BYTES) throw new RangeError(`Cannot reserve ${n} bytes: the limit is ${TAIL_BYTES}`);
    if (!this.#tail || this.#tail.length - this.#end < n) {
      this.#seal();
      // The old tail stays referenced by the chunks queued from it; a fresh one takes over.
      this.#tail = pool.pop() ?? new Uint8Array(TAIL_BYTES);
      this.#sealed = this.#end = 0;
    }
    return this.#tail.subarray(this.#end, this.#end + n);
  }

  /** Queues the first `n` bytes of the last reserve(); false when the writer is closed. */
  commit(n: number): boolean {
    if (this.#closed) return false;
    this.#end += n;
    this.#queued += n;
    if (!this.#pumping) void this.#pump();
    return true;
  }

  /** Drops queued chunks that have not started writing; returns the bytes dropped. */
  dropQueued(): number {
    let dropped = this.#end - this.#sealed;
    this.#end = this.#sealed;
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
    if (!this.#pumping) this.#releaseTail();
    this.#watchdog?.cancel();
    this.#watchdog = undefined;
    for (const w of this.#waiters.splice(0)) w.resolve(false);
  }

  /** Moves committed tail bytes onto the queue (before anything queued after them). */
  #seal(): void {
    if (this.#end === this.#sealed) return;
    this.#queue.push(this.#tail!.subarray(this.#sealed, this.#end));
    this.#sealed = this.#end;
  }

  #releaseTail(): void {
    if (this.#tail && pool.length < POOL_MAX) pool.push(this.#tail);
    this.#tail = undefined;
    this.#sealed = this.#end = 0;
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      this.#seal();
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
        this.#seal();
        this.#notify();
      }
      // Everything is written: nothing refers to the tail any more, so the pool may have it, and no write can
      // stall, so the watchdog goes too (an idle connection holds no deadline).
      if (this.#queue.length === 0 && this.#end === this.#sealed) {
        this.#releaseTail();
        this.#watchdog?.cancel();
        this.#watchdog = undefined;
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
      this.#watchdog = schedule(this.opts.timeoutMs - waited, check);
    };
    this.#watchdog = schedule(this.opts.timeoutMs, check);
  }
}
