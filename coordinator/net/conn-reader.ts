/**
 * Buffered reads from a TCP connection. The buffer starts small (idle connections are the common case, and
 * each one holds its buffer for as long as a read is pending) and grows only up to a caller-given cap, so a
 * peer cannot make it grow further. Large payloads are read straight into their destination instead.
 * Timeouts are the owner's business: it closes the connection, which rejects the pending read.
 */

/** Initial read buffer size. */
export const INITIAL_READ_BUFFER = 4096;

/** What a reader reads from (a Deno.Conn, or a fake in tests). */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

/** A growable read buffer over a connection. */
export class ConnReader {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** Bytes received in all, for diagnostics and "has the peer sent anything" checks. */
  received = 0;

  constructor(private readonly source: ByteSource, initialSize = INITIAL_READ_BUFFER) {
    this.#buf = new Uint8Array(initialSize);
  }

  /** Bytes buffered and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** The buffered bytes (a view, valid until the next fill or consume). */
  view(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Drops `n` buffered bytes. */
  consume(n: number): void {
    if (n > this.buffered) throw new RangeError(`Cannot consume ${n} bytes as only ${this.buffered} are buffered`);
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Reads more bytes into the buffer, growing it up to `maxBuffer` bytes of unconsumed data.
   * Returns false on end of stream; throws when the buffer is full at `maxBuffer` or the read fails.
   */
  fill(maxBuffer: number): Promise<boolean> {
    // Not an async function: every idle connection sits in here, and a suspended async frame costs ~250 bytes.
    try {
      if (this.#end === this.#buf.length) this.#makeRoom(maxBuffer);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.source.read(this.#buf.subarray(this.#end)).then((n) => {
      if (n === null) return false;
      this.#end += n;
      this.received += n;
      return true;
    });
  }

  /** Reads exactly `n` bytes into a new array (buffered bytes first, then straight from the source); null on EOF. */
  async readExact(n: number): Promise<Uint8Array<ArrayBuffer> | null> {
    const out = new Uint8Array(n);
    const have = Math.min(n, this.buffered);
    out.set(this.#buf.subarray(this.#start, this.#start + have));
    this.consume(have);
    let off = have;
    while (off < n) {
      const got = await this.source.read(out.subarray(off));
      if (got === null) return null;
      off += got;
      this.received += got;
    }
    return out;
  }

  /** Discards the next `n` bytes without keeping them; false on EOF. */
  async skip(n: number): Promise<boolean> {
    const have = Math.min(n, this.buffered);
    this.consume(have);
    let left = n - have;
    while (left > 0) {
      if (!(await this.fill(this.#buf.length))) return false;
      const take = Math.min(left, this.buffered);
      this.consume(take);
      left -= take;
    }
    return true;
  }

  /** Shrinks an idle, grown buffer back to `size` bytes when its contents fit (after an HTTP head, say). */
  shrink(size = INITIAL_READ_BUFFER): void {
    if (this.#buf.length <= size || this.buffered > size) return;
    const next = new Uint8Array(size);
    next.set(this.view());
    this.#end = this.buffered;
    this.#start = 0;
    this.#buf = next;
  }

  #makeRoom(maxBuffer: number): void {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
      return;
    }
    if (this.#buf.length >= maxBuffer) {
      throw new RangeError(`Cannot buffer more than ${maxBuffer} bytes: current value is ${this.#buf.length}`);
    }
    const next = new Uint8Array(Math.min(maxBuffer, this.#buf.length * 2));
    next.set(this.#buf.subarray(0, this.#end));
    this.#buf = next;
  }
}
