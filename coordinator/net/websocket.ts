/**
 * The server side of one RFC 6455 WebSocket, shaped like the browser `WebSocket` so coordinator code written
 * for `Deno.upgradeWebSocket` runs unchanged. What Deno's socket cannot do and this one does:
 * - a frame whose declared length passes `maxMessageBytes` is refused from its header (1009), unread;
 * - a send that would queue more than `maxBufferedBytes` closes the socket (1008 'slow reader');
 * - after our close frame the peer has `closeTimeoutMs` to answer before the TCP connection is destroyed.
 * Limits are live properties: the mesh API raises `maxMessageBytes` once a peer has authenticated.
 * Frames are read by `ws-reader.ts`, events are `ws-events.ts`'s; this file holds the state machine and sends.
 */
import type { ConnReader } from './conn-reader.ts';
import type { ConnWriter } from './conn-writer.ts';
import type { RefusalSink } from './refusals.ts';
import { closePayload, CloseCode, encodeFrame, isValidCloseCode, Opcode, utf8 } from './ws-frame.ts';
import { queueMessage } from './ws-send.ts';
import { WebSocketEvents } from './ws-events.ts';
import { checkLimits, type WebSocketLimits } from './ws-limits.ts';

/** Input read and dropped after failing a connection, before it is destroyed. */
const FAIL_DISCARD_BYTES = 64 * 1024;
import { type Deadline, schedule } from './timers.ts';
import { type FrameSink, readFrames } from './ws-reader.ts';

/** The connection a socket takes over after its 101 response. */
export interface SocketIo {
  reader: ConnReader;
  writer: ConnWriter;
  /** Destroys the TCP connection now. */
  destroy(): void;
  /** Sends FIN, keeping the read side open. */
  closeWrite(): void;
  onRefused: RefusalSink;
}

/** Internal entry point: the HTTP server hands the connection over after the 101 response. */
export const ATTACH = Symbol('attach');
/** Internal entry point: the HTTP server reports that the 101 response was never sent. */
export const ABANDON = Symbol('abandon');

/** FrameSink methods over a socket's private state; set by ServerWebSocket's static block. */
type SinkOps = { [K in keyof FrameSink]: FrameSink[K] extends (...a: infer A) => infer R ? (ws: ServerWebSocket, ...a: A) => R : never };
let sinkOf: SinkOps;

/** What the frame reader calls: one small object per socket, its methods on the prototype. */
class SocketSink implements FrameSink {
  constructor(private readonly ws: ServerWebSocket) {}
  maxMessageBytes(): number {
    return sinkOf.maxMessageBytes(this.ws);
  }
  closing(): boolean {
    return sinkOf.closing(this.ws);
  }
  received(): void {
    sinkOf.received(this.ws);
  }
  refused(): void {
    sinkOf.refused(this.ws);
  }
  message(data: string | Uint8Array): void {
    sinkOf.message(this.ws, data);
  }
  ping(payload: Uint8Array): void {
    sinkOf.ping(this.ws, payload);
  }
  peerClosed(code: number, reason: string): void {
    sinkOf.peerClosed(this.ws, code, reason);
  }
  fail(code: number, reason: string): void {
    sinkOf.fail(this.ws, code, reason);
  }
  ended(): void {
    sinkOf.ended(this.ws);
  }
}

/** A server-side WebSocket with browser-style API and live limits. */
export class ServerWebSocket extends WebSocketEvents implements WebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readonly extensions = '';
  binaryType: BinaryType = 'arraybuffer';

  #state: 0 | 1 | 2 | 3 = 0;
  #limits: WebSocketLimits;
  #io: SocketIo | undefined;
  #closeSent = false;
  #closeCode: number = CloseCode.Abnormal;
  #closeReason = '';
  #pendingClose: { code: number | undefined; reason: string } | undefined;
  #closeTimer: Deadline | undefined;
  #idleTimer: Deadline | undefined;
  #lastReceived = 0;
  #pingOutstanding = false;
  #done = Promise.withResolvers<void>();

  constructor(readonly url: string, readonly protocol: string, limits: Partial<WebSocketLimits> = {}) {
    super();
    this.#limits = checkLimits(limits);
  }

  /** CONNECTING until the 101 response is written, then OPEN, CLOSING, CLOSED. */
  get readyState(): 0 | 1 | 2 | 3 {
    return this.#state;
  }

  /** Bytes queued by send() and not yet written to the connection. */
  get bufferedAmount(): number {
    return this.#io?.writer.queued ?? 0;
  }

  /** Current limits (a copy). */
  get limits(): WebSocketLimits {
    return { ...this.#limits };
  }

  /** Changes some limits on the live socket; throws RangeError on an invalid value and changes nothing then. */
  setLimits(over: Partial<WebSocketLimits>): void {
    const idleChanged = over.idleTimeoutMs !== undefined && over.idleTimeoutMs !== this.#limits.idleTimeoutMs;
    this.#limits = checkLimits(over, this.#limits);
    if (idleChanged && this.#state === 1) this.#armIdle();
  }

  /** Largest message accepted, in bytes. */
  get maxMessageBytes(): number {
    return this.#limits.maxMessageBytes;
  }
  set maxMessageBytes(v: number) {
    this.setLimits({ maxMessageBytes: v });
  }

  /** Most bytes queued for sending before the socket is closed as a slow reader. */
  get maxBufferedBytes(): number {
    return this.#limits.maxBufferedBytes;
  }
  set maxBufferedBytes(v: number) {
    this.setLimits({ maxBufferedBytes: v });
  }

  /** Queues a message; never blocks. Throws while CONNECTING; ignored once closing (as in browsers). */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#state === 0) throw new DOMException('Cannot send as the WebSocket is still CONNECTING', 'InvalidStateError');
    if (this.#state !== 1 || this.#closeSent) return;
    if (data instanceof Blob) throw new TypeError('Cannot send a Blob as this server socket sends strings and bytes only');
    const io = this.#io!;
    if (!queueMessage(io.writer, data, this.#limits.maxBufferedBytes) && !io.writer.closed) {
      io.onRefused('slow-reader');
      // Unstarted frames go; a frame already being written stays, so the close frame still lands on a boundary.
      io.writer.dropQueued();
      this.#startClose(CloseCode.PolicyViolation, 'slow reader');
    }
  }

  /** Starts the closing handshake; the connection is destroyed if the peer does not answer within closeTimeoutMs. */
  close(code?: number, reason = ''): void {
    if (code !== undefined && (!Number.isInteger(code) || !isValidCloseCode(code))) {
      throw new RangeError(`Cannot close a WebSocket with code ${code}: use 1000-1003, 1007-1014 or 3000-4999`);
    }
    if (utf8(reason).length > 123) throw new RangeError(`Cannot close a WebSocket with a reason over 123 UTF-8 bytes: current length is ${utf8(reason).length}`);
    if (this.#state === 0) {
      this.#pendingClose ??= { code, reason };
      return;
    }
    if (this.#state === 1) this.#startClose(code, reason);
  }

  /** @internal Takes over the connection once the 101 response is written; resolves when the socket is closed. */
  [ATTACH](io: SocketIo): Promise<void> {
    this.#io = io;
    this.#state = 1;
    this.#lastReceived = performance.now();
    this.#armIdle();
    this.emit('open', new Event('open'));
    if (this.#pendingClose && this.#state === 1) this.#startClose(this.#pendingClose.code, this.#pendingClose.reason);
    void readFrames(io.reader, new SocketSink(this));
    return this.#done.promise;
  }

  static {
    // The frame reader's callbacks, shared by every socket (11 closures per socket cost ~700 bytes each idle one).
    sinkOf = {
      maxMessageBytes: (ws) => ws.#limits.maxMessageBytes,
      closing: (ws) => ws.#closeSent,
      received: (ws) => {
        ws.#lastReceived = performance.now();
        ws.#pingOutstanding = false;
      },
      refused: (ws) => ws.#io?.onRefused('too-large'),
      message: (ws, data) => ws.#deliver(data),
      ping: (ws, payload) => {
        if (!ws.#closeSent) ws.#io?.writer.write(encodeFrame(Opcode.Pong, payload));
      },
      peerClosed: (ws, code, reason) => void ws.#peerClosed(code, reason),
      fail: (ws, code, reason) => void ws.#fail(code, reason),
      ended: (ws) => ws.#terminate(false, ws.#closeSent ? ws.#closeCode : CloseCode.Abnormal, ws.#closeSent ? ws.#closeReason : 'connection lost'),
    };
  }

  /** @internal The upgrade was never completed (handler returned another response, or the write failed). */
  [ABANDON](): void {
    if (this.#state === 0) this.#terminate(false, CloseCode.Abnormal, 'upgrade not completed');
  }

  #deliver(data: string | Uint8Array): void {
    if (this.#state !== 1) return;
    if (typeof data === 'string') {
      this.emit('message', new MessageEvent('message', { data }));
      return;
    }
    const buf = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.buffer : data.slice().buffer;
    this.emit('message', new MessageEvent('message', { data: this.binaryType === 'blob' ? new Blob([buf as ArrayBuffer]) : buf }));
  }

  #startClose(code: number | undefined, reason: string): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.#state = 2;
    this.#closeCode = code ?? CloseCode.NoStatus;
    this.#closeReason = reason;
    this.#io!.writer.write(encodeFrame(Opcode.Close, closePayload(code, reason)));
    this.#closeTimer = schedule(this.#limits.closeTimeoutMs, () => this.#terminate(false, this.#closeCode, this.#closeReason));
  }

  async #peerClosed(code: number, reason: string): Promise<void> {
    if (this.#closeSent) return this.#terminate(true, code, reason);
    // Echo the peer's code, flush, then the server closes TCP first (RFC 6455 section 7.1.1).
    this.#startClose(code === CloseCode.NoStatus ? undefined : code, '');
    await this.#io!.writer.drain();
    this.#terminate(true, code, reason);
  }

  /**
   * Fails the connection: close frame with `code`, FIN, then discard input until the peer hangs up, but at
   * most FAIL_DISCARD_BYTES of it: past that the socket is no longer read (its sender stalls on a full TCP
   * window, while still able to read our close frame) and the close timer destroys it. A peer that keeps
   * streaming, e.g. the rest of a 60 MiB frame we refused, costs no more reading.
   */
  async #fail(code: number, reason: string): Promise<void> {
    const io = this.#io!;
    if (!this.#closeSent) this.#startClose(code, reason.slice(0, 120));
    this.#closeCode = code;
    this.#closeReason = reason;
    if (!(await io.writer.drain())) return this.#terminate(false, code, reason);
    io.closeWrite();
    try {
      let discarded = io.reader.buffered;
      io.reader.consume(io.reader.buffered);
      while (await io.reader.fill(1)) {
        discarded += io.reader.buffered;
        io.reader.consume(io.reader.buffered);
        if (discarded >= FAIL_DISCARD_BYTES) return; // the close timer ends it
      }
    } catch {
      // destroyed by the close timer, or reset by the peer
    }
    this.#terminate(false, code, reason);
  }

  #armIdle(): void {
    this.#idleTimer?.cancel();
    this.#idleTimer = undefined;
    const idle = this.#limits.idleTimeoutMs;
    if (idle <= 0 || this.#state > 1) return;
    const check = () => {
      if (this.#state !== 1) return;
      const quiet = performance.now() - this.#lastReceived;
      if (quiet < idle) {
        this.#idleTimer = schedule(idle - quiet, check);
        return;
      }
      if (this.#pingOutstanding) return this.#terminate(false, CloseCode.Abnormal, 'no pong within the idle timeout');
      this.#pingOutstanding = true;
      this.#lastReceived = performance.now();
      this.#io!.writer.write(encodeFrame(Opcode.Ping, new Uint8Array(0)));
      this.#idleTimer = schedule(idle, check);
    };
    this.#idleTimer = schedule(idle, check);
  }

  #terminate(wasClean: boolean, code: number, reason: string): void {
    if (this.#state === 3) return;
    this.#state = 3;
    this.#closeTimer?.cancel();
    this.#idleTimer?.cancel();
    this.#io?.writer.close();
    this.#io?.destroy();
    if (!wasClean) this.emit('error', new Event('error'));
    this.emit('close', new CloseEvent('close', { code, reason, wasClean }));
    this.#done.resolve();
  }
}

/** Changes the limits of a socket made by upgradeWebSocket(); false (nothing changed) for any other WebSocket. */
export function setSocketLimits(socket: WebSocket, limits: Partial<WebSocketLimits>): boolean {
  if (!(socket instanceof ServerWebSocket)) return false;
  socket.setLimits(limits);
  return true;
}
