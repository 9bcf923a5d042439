/**
 * One data connection to another peer (a stock peerjs DataConnection opened with serialization 'raw',
 * reliable and ordered). Text messages are JSON control frames; binary messages are chunks of announced blobs.
 * Frames are routed to per-lease inboxes; a `shard` frame (the start of a lease on the contributor side) is
 * raised as an event. Anything malformed closes the link with a clear error instead of throwing, so one bad
 * peer cannot crash the page. Sends apply backpressure on the underlying RTCDataChannel.
 *
 * A link between two pages is authenticated first (link-auth.ts): each side proves its id with its key, over
 * this DTLS session; frames that arrive before the other side's proof has verified wait (bounded), and a link
 * whose proof fails is closed. `PeerLink.open` resolves only once the link is authenticated.
 */
import type { DataConnection } from 'peerjs';
import { sha256Hex } from '../core/hash.ts';
import { MeshError, toWireError } from '../protocol/errors.ts';
import { CHUNK_BYTES, CHUNK_HEADER_BYTES, decodeChunk, type PeerFrame, parseLinkFrame, parsePeerFrame } from '../protocol/peer.ts';
import type { Identity } from '../core/identity.ts';
import { fingerprints, LinkAuth } from './link-auth.ts';
import { parseJson } from '../protocol/validate.ts';
import { type BlobKind, LeaseInbox } from './lease-inbox.ts';
import { decodeBlob, encodeBlob } from './blob-codec.ts';
import { BlobStream } from './blob-stream.ts';
import { BlobReceiver, chunkPayloads, type CompletedBlob } from './transfer.ts';
import { type BlobWriter, blobWriter } from './blob-writer.ts';
import { requestEvent } from './link-requests.ts';

export type { BlobWriter };
export type { InferRequest, PullRequest, ShardRequest } from './link-requests.ts';

/** Bytes queued in the data channel above which sending waits. */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Bytes queued at which a waiting sender resumes. */
export const LOW_WATER_BYTES = 1024 * 1024;
/** Longest control frame accepted, in characters. */
export const MAX_CONTROL_CHARS = 64 * 1024;
/** Frames (and their bytes) a link holds while the other side's proof of identity is being checked. */
const MAX_EARLY_FRAMES = 256;
const MAX_EARLY_BYTES = 4 * 1024 * 1024;

/**
 * A live link to one remote peer. Events: `shard` (CustomEvent<ShardRequest>), `pull` (CustomEvent<PullRequest>),
 * `infer` (CustomEvent<InferRequest>: a listener that wants the request's inputs opens its inbox,
 * `lease(frame.leaseId)`, before returning), `close`
 * (CustomEvent<{ error: Error | undefined }>).
 */
export class PeerLink extends EventTarget {
  readonly remote: string;
  readonly conn: DataConnection;
  readonly #inboxes = new Map<string, LeaseInbox>();
  readonly #receiver = new BlobReceiver();
  /** Blobs announced for a live lease and still arriving, by transfer id. */
  readonly #streams = new Map<number, BlobStream>();
  readonly #closedSignal = new AbortController();
  #nextTid = 1;
  readonly #auth: LinkAuth | undefined;
  #verified: boolean;
  readonly #authenticated = deferred();
  #authChain: Promise<void> = Promise.resolve();
  readonly #early: unknown[] = [];
  #earlyBytes = 0;

  /**
   * Wraps an open connection; use `PeerLink.open` for one still negotiating. With an `identity`, the link
   * authenticates both ends before it reads anything else (without one, e.g. an in-memory link to this same
   * page, it is trusted as is).
   */
  constructor(conn: DataConnection, identity?: Identity) {
    super();
    if (!conn.open) throw new TypeError(`Cannot wrap a connection to ${conn.peer} as it must be open: current state is closed`);
    this.remote = conn.peer;
    this.conn = conn;
    this.#authenticated.promise.catch(() => {});
    this.#verified = identity === undefined;
    if (identity) this.#auth = new LinkAuth(identity, conn.peer, () => fingerprints(conn));
    else this.#authenticated.resolve();
    const dc = conn.dataChannel;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = LOW_WATER_BYTES;
    conn.on('data', (data) => this.#onData(data));
    conn.on('close', () => this.close(new MeshError('transfer-failed', `Cannot keep the link to ${this.remote} as the connection closed`)));
    conn.on('error', (err) => this.close(new MeshError('transfer-failed', `Cannot keep the link to ${this.remote}: ${err.message}`)));
    if (this.#auth) this.#send(JSON.stringify(this.#auth.hello()));
  }

  /** Resolves once the other side proved its id (at once for an unauthenticated link); rejects if the link closes first. */
  get authenticated(): Promise<void> {
    return this.#authenticated.promise;
  }

  /** Waits for a connection to open (or fail, or time out), wraps it and waits until both ends proved their ids. */
  static async open(conn: DataConnection, timeoutMs = 20_000, identity?: Identity): Promise<PeerLink> {
    const link = await PeerLink.#opened(conn, timeoutMs, identity);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        link.authenticated,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new MeshError('transfer-failed', `Cannot open a link to ${conn.peer}: it did not prove its id within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      link.close(err as Error);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return link;
  }

  static #opened(conn: DataConnection, timeoutMs: number, identity: Identity | undefined): Promise<PeerLink> {
    if (conn.open) return Promise.resolve(new PeerLink(conn, identity));
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        cleanup();
        conn.close();
        reject(new MeshError('transfer-failed', `Cannot open a link to ${conn.peer}: ${why}`));
      };
      const onOpen = () => {
        cleanup();
        try {
          resolve(new PeerLink(conn, identity));
        } catch (err) {
          reject(err);
        }
      };
      const onError = (err: Error) => fail(err.message);
      const onClose = () => fail('the connection closed while opening');
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        conn.off('open', onOpen);
        conn.off('error', onError);
        conn.off('close', onClose);
      };
      conn.on('open', onOpen);
      conn.on('error', onError);
      conn.on('close', onClose);
    });
  }

  /** Whether the link can still carry frames. */
  get open(): boolean {
    return !this.#closedSignal.signal.aborted;
  }

  /** Aborts when the link closes; its reason is the closing error. */
  get closed(): AbortSignal {
    return this.#closedSignal.signal;
  }

  /** Opens (or returns) the inbox of a lease; from now on blobs for that lease are kept. */
  lease(leaseId: string): LeaseInbox {
    let inbox = this.#inboxes.get(leaseId);
    if (!inbox) {
      inbox = new LeaseInbox(leaseId);
      if (!this.open) inbox.fail(this.#closedSignal.signal.reason as Error);
      this.#inboxes.set(leaseId, inbox);
    }
    return inbox;
  }

  /** Forgets a lease: fails its pending reads with `err` (if given) and drops its incoming bytes. */
  endLease(leaseId: string, err?: Error): void {
    const inbox = this.#inboxes.get(leaseId);
    this.#inboxes.delete(leaseId);
    this.#receiver.discard(leaseId);
    // The inbox fails its blobs still arriving; their transfers run on (bytes dropped) and leave #streams at the end.
    inbox?.fail(err ?? new MeshError('cancelled', `Cannot read lease ${leaseId} as it ended`));
  }

  /** Sends one control frame; throws MeshError 'transfer-failed' if the link is closed. */
  sendControl(frame: PeerFrame): void {
    this.#send(JSON.stringify(frame));
  }

  /** Sends a `fail` frame for a lease carrying this error. Never throws (the link may already be gone). */
  sendFail(leaseId: string, err: unknown): void {
    if (!this.open) return;
    try {
      const wire = toWireError(err);
      this.sendControl({ type: 'fail', leaseId, error: { ...wire, message: wire.message.slice(0, 2000), name: wire.name.slice(0, 100) } });
    } catch {
      // The link closed between the check and the send; its close already failed the lease.
    }
  }

  /**
   * Announces and streams a blob for a lease, compressed when that pays (see blob-codec.ts), waiting whenever
   * the channel's buffer is above the high-water mark. Resolves with the blob's SHA-256 (of the uncompressed
   * bytes, computed unless given) once every chunk is queued; rejects if the link closes or `signal` aborts
   * (the receiver then discards the partial blob with the lease).
   */
  async sendBlob(leaseId: string, what: BlobKind, data: ArrayBuffer | Uint8Array, opts: { signal?: AbortSignal; sha256?: string } = {}): Promise<string> {
    const { signal } = opts;
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const [sha256, { wire, encoding }] = await Promise.all([opts.sha256 ?? sha256Hex(bytes), encodeBlob(bytes)]);
    signal?.throwIfAborted();
    const tid = this.#takeTid();
    const compressed = encoding ? { encoding, wireBytes: wire.byteLength } : {};
    this.sendControl({ type: 'blob', leaseId, tid, what, bytes: bytes.byteLength, sha256, ...compressed });
    // One frame buffer for the whole blob: send() copies what it is given before returning, so each chunk is
    // written into the same memory instead of a fresh allocation per 64 KiB.
    const frame = new Uint8Array(CHUNK_HEADER_BYTES + Math.min(CHUNK_BYTES, wire.byteLength));
    const header = new DataView(frame.buffer);
    header.setUint32(0, tid, true);
    let seq = 0;
    for (const payload of chunkPayloads(wire, CHUNK_BYTES)) {
      signal?.throwIfAborted();
      await this.#drain(signal);
      header.setUint32(4, seq++, true);
      frame.set(payload, CHUNK_HEADER_BYTES);
      this.#send(frame.subarray(0, CHUNK_HEADER_BYTES + payload.byteLength));
    }
    return sha256;
  }

  /**
   * Announces a raw outputs blob of `size` bytes without its hash and returns a writer that streams its parts as
   * they are computed (the receiver hashes what arrives; the client compares that with `done.outputHash`).
   * Writes are sent in call order, each waiting on the channel's backpressure; `end()` resolves once every
   * byte is queued and rejects if the parts did not add up to `size`, the link closed or `signal` aborted.
   */
  outputWriter(leaseId: string, size: number, opts: { signal?: AbortSignal } = {}): BlobWriter {
    const { signal } = opts;
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Cannot stream outputs as 'size' must be a non-negative integer: current value is ${size}`);
    const tid = this.#takeTid();
    this.sendControl({ type: 'blob', leaseId, tid, what: 'outputs', bytes: size });
    return blobWriter({ leaseId, tid, size, signal, send: (f) => this.#send(f), drain: (sig) => this.#drain(sig) });
  }

  /** Closes the link, failing every lease on it with `err` (default: 'transfer-failed'). Idempotent. */
  close(err?: Error): void {
    if (!this.open) return;
    const reason = err ?? new MeshError('transfer-failed', `Cannot use the link to ${this.remote} as it was closed`);
    this.#closedSignal.abort(reason);
    this.#authenticated.reject(reason);
    this.#early.length = 0;
    for (const inbox of this.#inboxes.values()) inbox.fail(reason);
    this.#inboxes.clear();
    for (const stream of this.#streams.values()) stream.fail(reason);
    this.#streams.clear();
    this.#receiver.clear();
    this.conn.close();
    this.dispatchEvent(new CustomEvent('close', { detail: { error: err } }));
  }

  #takeTid(): number {
    const tid = this.#nextTid;
    this.#nextTid = this.#nextTid >= 0xffffffff ? 1 : this.#nextTid + 1;
    return tid;
  }

  #send(message: string | Uint8Array<ArrayBuffer>): void {
    if (!this.open) throw this.#closedSignal.signal.reason as Error;
    try {
      // Straight to the channel: peerjs' own send queue would hide the backpressure we manage here.
      if (typeof message === 'string') this.conn.dataChannel.send(message);
      else this.conn.dataChannel.send(message);
    } catch (err) {
      const error = new MeshError('transfer-failed', `Cannot send to ${this.remote}: ${(err as Error).message}`);
      this.close(error);
      throw error;
    }
  }

  async #drain(signal: AbortSignal | undefined): Promise<void> {
    const dc = this.conn.dataChannel;
    while (this.open && dc.bufferedAmount > HIGH_WATER_BYTES) {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          dc.removeEventListener('bufferedamountlow', done);
          this.#closedSignal.signal.removeEventListener('abort', done);
          signal?.removeEventListener('abort', done);
          if (signal?.aborted) reject(signal.reason);
          else resolve();
        };
        dc.addEventListener('bufferedamountlow', done);
        this.#closedSignal.signal.addEventListener('abort', done);
        signal?.addEventListener('abort', done);
      });
    }
    if (!this.open) throw this.#closedSignal.signal.reason as Error;
  }

  #onData(data: unknown): void {
    if (!this.open) return;
    if (!this.#verified) return this.#beforeProof(data);
    try {
      if (typeof data === 'string') this.#onControl(data);
      else if (data instanceof ArrayBuffer) this.#onChunk(data);
      else throw new MeshError('invalid-message', `Cannot accept a message from ${this.remote} as it must be text or binary: current type is ${Object.prototype.toString.call(data)}`);
    } catch (err) {
      const error = err instanceof MeshError
        ? err
        : new MeshError('invalid-message', `Cannot accept a frame from ${this.remote}: ${(err as Error).message}`);
      this.close(error);
    }
  }

  /** Until the other side's proof verifies, only hello and proof are read; anything else waits (bounded). */
  #beforeProof(data: unknown): void {
    const auth = this.#auth!;
    const type = typeof data === 'string' ? linkFrameType(data) : undefined;
    if (type !== undefined) {
      this.#authChain = this.#authChain.then(async () => {
        if (!this.open) return;
        const frame = parseLinkFrame(parseJson(data as string, MAX_CONTROL_CHARS));
        if (frame.type === 'hello') {
          this.#send(JSON.stringify(await auth.onHello(frame)));
          return;
        }
        await auth.onProof(frame);
        this.#verified = true;
        this.#authenticated.resolve();
        for (const early of this.#early.splice(0)) this.#onData(early);
        this.#earlyBytes = 0;
      }).catch((err) => this.close(err instanceof MeshError ? err : new MeshError('unauthorized', `Cannot link to ${this.remote}: ${(err as Error).message}`)));
      return;
    }
    this.#earlyBytes += typeof data === 'string' ? data.length : data instanceof ArrayBuffer ? data.byteLength : 0;
    if (this.#early.length >= MAX_EARLY_FRAMES || this.#earlyBytes > MAX_EARLY_BYTES) {
      this.close(new MeshError('unauthorized', `Cannot link to ${this.remote} as it sent too much before proving its id`));
      return;
    }
    this.#early.push(data);
  }

  #onControl(text: string): void {
    const frame = parsePeerFrame(parseJson(text, MAX_CONTROL_CHARS));
    switch (frame.type) {
      case 'shard':
      case 'pull':
      case 'infer':
        this.dispatchEvent(requestEvent(this, frame));
        return;
      case 'blob': {
        const inbox = this.#inboxes.get(frame.leaseId);
        const keep = inbox !== undefined && inbox.error === undefined;
        // Delivered at announcement, so a reader can start on a raw blob's first bytes as they land.
        const stream = keep ? new BlobStream(frame.bytes) : undefined;
        const onBytes = stream && frame.encoding === undefined ? (buffer: Uint8Array, received: number) => stream.progress(buffer, received) : undefined;
        const done = this.#receiver.announce(frame, keep, onBytes);
        if (stream) {
          this.#streams.set(frame.tid, stream);
          inbox!.pushBlob(frame.what, stream.done, stream);
        }
        if (done) this.#deliver(done);
        return;
      }
      default:
        // Frames for a lease this side already gave up are stale, not malformed.
        this.#inboxes.get(frame.leaseId)?.pushFrame(frame);
    }
  }

  #onChunk(frame: ArrayBuffer): void {
    const { transferId, seq, payload } = decodeChunk(frame);
    const done = this.#receiver.chunk(transferId, seq, payload);
    if (done) this.#deliver(done);
  }

  #deliver({ frame, bytes }: CompletedBlob): void {
    const stream = this.#streams.get(frame.tid);
    this.#streams.delete(frame.tid);
    if (!stream) return;
    if (bytes && this.#inboxes.has(frame.leaseId)) stream.complete(decodeBlob(frame, bytes));
    else stream.fail(new MeshError('cancelled', `Cannot read the ${frame.what} of lease ${frame.leaseId} as it ended`));
  }
}

/** 'hello' or 'proof' when a text frame is a link authentication frame, else undefined. */
function linkFrameType(text: string): string | undefined {
  if (text.length > MAX_CONTROL_CHARS) return undefined;
  try {
    const type = (JSON.parse(text) as { type?: unknown } | null)?.type;
    return type === 'hello' || type === 'proof' ? type : undefined;
  } catch {
    return undefined;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
