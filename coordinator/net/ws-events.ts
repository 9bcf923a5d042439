/**
 * The event side of a server WebSocket, as on a browser WebSocket: `onopen`/`onmessage`/`onclose`/`onerror`
 * and typed add/removeEventListener. EventTarget listeners cost ~0.4 KB each in Deno, and a socket that
 * only uses on-handlers (the coordinator's do) needs none: handlers are called directly until the first
 * addEventListener of a type, after which that type dispatches through EventTarget, handler first.
 */

type Handler = ((this: WebSocket, ev: Event) => unknown) | null;
/** The events a WebSocket emits. */
export type WebSocketEventName = 'open' | 'message' | 'close' | 'error';

/** Browser-style WebSocket events over EventTarget. */
export class WebSocketEvents extends EventTarget {
  #handlers: Record<WebSocketEventName, Handler> = { open: null, message: null, close: null, error: null };
  /** Event types with addEventListener listeners; the others skip EventTarget dispatch. */
  #listened: Set<WebSocketEventName> | undefined;

  /** Called once the socket is open. */
  get onopen(): Handler {
    return this.#handlers.open;
  }
  set onopen(h: Handler) {
    this.#handlers.open = h;
  }
  /** Called for each message: `data` is a string for text, an ArrayBuffer for binary. */
  get onmessage(): ((this: WebSocket, ev: MessageEvent) => unknown) | null {
    return this.#handlers.message;
  }
  set onmessage(h: ((this: WebSocket, ev: MessageEvent) => unknown) | null) {
    this.#handlers.message = h as Handler;
  }
  /** Called once when the socket is closed, with `code`, `reason` and `wasClean`. */
  get onclose(): ((this: WebSocket, ev: CloseEvent) => unknown) | null {
    return this.#handlers.close;
  }
  set onclose(h: ((this: WebSocket, ev: CloseEvent) => unknown) | null) {
    this.#handlers.close = h as Handler;
  }
  /** Called before `close` when the connection ends uncleanly. */
  get onerror(): Handler {
    return this.#handlers.error;
  }
  set onerror(h: Handler) {
    this.#handlers.error = h;
  }

  /** Adds a listener for 'open' | 'message' | 'close' | 'error' (typed as on a browser WebSocket). */
  override addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, ev: WebSocketEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void {
    if (type in this.#handlers && !this.#listened?.has(type as WebSocketEventName)) {
      // From now on this type dispatches through EventTarget; the on-handler goes first, as when set at creation.
      (this.#listened ??= new Set()).add(type as WebSocketEventName);
      super.addEventListener(type, (ev) => this.#handlers[type as WebSocketEventName]?.call(this as unknown as WebSocket, ev));
    }
    super.addEventListener(type, listener, options);
  }

  /** Removes a listener added with addEventListener. */
  override removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: (this: WebSocket, ev: WebSocketEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener, options);
  }

  /** Calls the on-handler, or dispatches when listeners exist; a throwing handler is reported like a listener's. */
  protected emit(type: WebSocketEventName, ev: Event): void {
    if (this.#listened?.has(type)) {
      this.dispatchEvent(ev);
      return;
    }
    const handler = this.#handlers[type];
    if (!handler) return;
    try {
      handler.call(this as unknown as WebSocket, ev);
    } catch (err) {
      reportError(err);
    }
  }
}
