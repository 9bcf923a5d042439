/**
 * A subscription's queue of unhandled messages, bounded in messages and bytes. Handlers run one at a time in
 * arrival order; a synchronous handler runs inside `push`, so an idle subscriber adds no latency. When the
 * queue is full the new message is dropped (the sender's older messages keep their order).
 */

/** A bounded FIFO that feeds one handler. */
export class BoundedQueue<T> {
  #items: (T | undefined)[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;
  #running = false;
  #closed = false;
  /** Items refused because the queue was full. */
  dropped = 0;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
    private readonly handler: (item: T) => void | Promise<void>,
    private readonly onHandlerError: (err: unknown) => void,
  ) {
    if (!(maxItems >= 1) || !(maxBytes >= 1)) {
      throw new RangeError(`Cannot bound a queue as 'maxItems' and 'maxBytes' must be at least 1: current values are ${maxItems}, ${maxBytes}`);
    }
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues an item of `size` bytes; false (and counted) when it does not fit or the queue is closed. */
  push(item: T, size: number): boolean {
    if (this.#closed) return false;
    if (this.length >= this.maxItems || this.#bytes + size > this.maxBytes) {
      this.dropped++;
      return false;
    }
    this.#items.push(item);
    this.#sizes.push(size);
    this.#bytes += size;
    if (!this.#running) void this.#run();
    return true;
  }

  /** Discards what is queued and refuses more. */
  close(): void {
    this.#closed = true;
    this.#items = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#closed && this.#head < this.#items.length) {
        const item = this.#items[this.#head] as T;
        const size = this.#sizes[this.#head]!;
        this.#items[this.#head] = undefined;
        this.#head++;
        if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#sizes = this.#sizes.slice(this.#head);
          this.#head = 0;
        }
        try {
          const r = this.handler(item);
          if (r) await r;
        } catch (err) {
          this.onHandlerError(err);
        } finally {
          if (!this.#closed) this.#bytes -= size;
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
