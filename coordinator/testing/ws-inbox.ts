/** A WebSocket wrapper for tests: every JSON frame lands in an inbox that tests wait on by predicate. */

/** The member of a tagged union with this type, or the whole frame type when `type` is a plain string. */
export type OfType<F, T> = [Extract<F, { type: T }>] extends [never] ? F : Extract<F, { type: T }>;

/** Parsed frames from one socket, awaited by predicate. */
export class WsInbox<F extends { type: string }> {
  readonly frames: F[] = [];
  #waiters: { match: (f: F) => boolean; resolve: (f: F) => void }[] = [];
  readonly closed: Promise<CloseEvent>;
  readonly opened: Promise<void>;

  constructor(readonly socket: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`WebSocket to ${socket.url} failed`)), { once: true });
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => socket.addEventListener('close', resolve, { once: true }));
    socket.addEventListener('message', (ev) => {
      const frame = JSON.parse(String(ev.data)) as F;
      const i = this.#waiters.findIndex((w) => w.match(frame));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame);
      else this.frames.push(frame);
    });
  }

  /** The next frame (already received or future) matching `match`; it is taken out of the inbox. */
  next(match: (f: F) => boolean, what = 'a frame', timeoutMs = 5000): Promise<F> {
    const i = this.frames.findIndex(match);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (f: F) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; inbox: ${JSON.stringify(this.frames).slice(0, 400)}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** The next frame of a type. */
  nextOfType<T extends F['type']>(type: T, timeoutMs = 5000): Promise<OfType<F, T>> {
    return this.next((f) => f.type === type, `a '${type}' frame`, timeoutMs) as Promise<OfType<F, T>>;
  }

  /** Sends a JSON value or raw text. */
  send(value: unknown): void {
    this.socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Closes the socket and waits until it is closed. */
  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }
}
