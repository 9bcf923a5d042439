/**
 * What has arrived on a peer link for one lease, in arrival order, with awaitable reads. Frames and blobs that
 * arrive before anyone waits for them are kept; a `fail` frame from the other side, a closed link or a local
 * abort fails every pending and later read with that error, so a lease never hangs on a dead peer.
 */
import { type ErrorCode, MeshError } from '../protocol/errors.ts';
import type { PeerFrame } from '../protocol/peer.ts';
import { BlobStream } from './blob-stream.ts';
import type { VerifiedBlob } from './transfer.ts';

/** Control frames delivered through an inbox (blob announcements are turned into blobs by the link). */
export type InboxFrame = Exclude<PeerFrame, { type: 'blob' }>;
/** What a blob carries. */
export type BlobKind = 'model' | 'inputs' | 'outputs';

type Item =
  | { kind: 'frame'; frame: InboxFrame }
  | { kind: 'blob'; what: BlobKind; blob: Promise<VerifiedBlob>; stream?: BlobStream | undefined };

interface Waiter {
  match(item: Item): boolean;
  resolve(item: Item): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** An error the other peer reported with a `fail` frame (as opposed to one found on this side). */
export class RemoteFailure extends MeshError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'RemoteFailure';
  }
}

/** Largest number of unread items an inbox keeps before failing the lease: a misbehaving peer cannot grow it. */
export const MAX_UNREAD = 16;

/** Ordered, awaitable mailbox for one lease on one link. */
export class LeaseInbox {
  readonly leaseId: string;
  readonly #items: Item[] = [];
  readonly #waiters = new Set<Waiter>();
  /** Blobs still arriving: they fail with the inbox. */
  readonly #streams = new Set<BlobStream>();
  #error: Error | undefined;

  constructor(leaseId: string) {
    this.leaseId = leaseId;
  }

  /** The error that failed this inbox, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Delivers a control frame; a `fail` frame fails the inbox with the peer's error. */
  pushFrame(frame: InboxFrame): void {
    if (frame.type === 'fail') {
      this.fail(new RemoteFailure(frame.error.code as ErrorCode, `Peer reported ${frame.error.name}: ${frame.error.message}`));
      return;
    }
    this.#push({ kind: 'frame', frame });
  }

  /**
   * Delivers a blob whose hash check may still be running (a rejected check rejects the read), or one still
   * arriving (`stream`, whose `done` is `blob`): announced blobs are delivered at once, so a reader can start on
   * their first bytes.
   */
  pushBlob(what: BlobKind, blob: Promise<VerifiedBlob>, stream?: BlobStream): void {
    blob.catch(() => {}); // read later (or never); avoid an unhandled rejection meanwhile
    if (stream) {
      if (this.#error) stream.fail(this.#error);
      else this.#streams.add(stream);
      blob.then(() => this.#streams.delete(stream), () => this.#streams.delete(stream));
    }
    this.#push({ kind: 'blob', what, blob, stream });
  }

  /** The next frame of this type, waiting up to `timeoutMs` (MeshError 'transfer-failed' on timeout). */
  async nextFrame<T extends InboxFrame['type']>(type: T, timeoutMs?: number): Promise<Extract<InboxFrame, { type: T }>> {
    const item = await this.#take((i) => i.kind === 'frame' && i.frame.type === type, `a '${type}' frame`, timeoutMs);
    return (item as Extract<Item, { kind: 'frame' }>).frame as Extract<InboxFrame, { type: T }>;
  }

  /** The next frame of any of these types, waiting up to `timeoutMs` (a request's answer or its refusal). */
  async nextFrameOf<T extends InboxFrame['type']>(types: readonly T[], timeoutMs?: number): Promise<Extract<InboxFrame, { type: T }>> {
    const item = await this.#take((i) => i.kind === 'frame' && (types as readonly string[]).includes(i.frame.type), `a '${types.join("' or '")}' frame`, timeoutMs);
    return (item as Extract<Item, { kind: 'frame' }>).frame as Extract<InboxFrame, { type: T }>;
  }

  /** The next blob of this kind (bytes and their checked hash), waiting up to `timeoutMs`. */
  async nextBlob(what: BlobKind, timeoutMs?: number): Promise<VerifiedBlob> {
    const item = await this.#take((i) => i.kind === 'blob' && i.what === what, `the ${what} blob`, timeoutMs);
    return (item as Extract<Item, { kind: 'blob' }>).blob;
  }

  /**
   * The next blob of this kind as it arrives (see BlobStream), waiting up to `timeoutMs` for its announcement;
   * a blob delivered whole is returned as a stream that is already complete.
   */
  async nextStream(what: BlobKind, timeoutMs?: number): Promise<BlobStream> {
    const item = (await this.#take((i) => i.kind === 'blob' && i.what === what, `the ${what} blob`, timeoutMs)) as Extract<Item, { kind: 'blob' }>;
    if (item.stream) return item.stream;
    const blob = await item.blob;
    const stream = new BlobStream(blob.bytes.byteLength);
    stream.complete(Promise.resolve(blob));
    return stream;
  }

  /** Fails every pending and later read with `err` (first error wins). */
  fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    this.#items.length = 0;
    for (const s of this.#streams) s.fail(err);
    this.#streams.clear();
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiters.clear();
  }

  #push(item: Item): void {
    if (this.#error) return;
    for (const w of this.#waiters) {
      if (w.match(item)) {
        this.#waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(item);
        return;
      }
    }
    if (this.#items.length >= MAX_UNREAD) {
      this.fail(new MeshError('rate-limited', `Cannot keep more unread messages for lease ${this.leaseId}: current count is ${this.#items.length}`));
      return;
    }
    this.#items.push(item);
  }

  #take(match: (item: Item) => boolean, what: string, timeoutMs: number | undefined): Promise<Item> {
    if (this.#error) return Promise.reject(this.#error);
    const at = this.#items.findIndex(match);
    if (at >= 0) return Promise.resolve(this.#items.splice(at, 1)[0]!);
    return new Promise<Item>((resolve, reject) => {
      const waiter: Waiter = { match, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new MeshError('transfer-failed', `Cannot run lease ${this.leaseId} as ${what} did not arrive: waited ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.#waiters.add(waiter);
    });
  }
}
