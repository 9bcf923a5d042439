/**
 * A blob still arriving, readable before its last chunk: `waitFor(n)` resolves once its first `n` bytes are in
 * (a raw blob's bytes land in the buffer the receiver fills, so nothing is copied), `done` once every byte
 * arrived and hashed to the announced SHA-256. A compressed blob is readable only when complete (its wire bytes
 * are not the data). Work started on a prefix must not be claimed before `done` resolves: a wrong blob is only
 * known as wrong then.
 */
import type { VerifiedBlob } from './transfer.ts';

interface Waiter {
  bytes: number;
  resolve(buffer: Uint8Array): void;
  reject(err: Error): void;
}

/** One incoming blob, readable by prefix. */
export class BlobStream {
  /** Size of the (uncompressed) data in bytes. */
  readonly size: number;
  /** Resolves with the checked blob; rejects on a wrong hash, a closed link or an ended lease. */
  readonly done: Promise<VerifiedBlob>;
  #buffer: Uint8Array | undefined;
  #received = 0;
  #error: Error | undefined;
  readonly #waiters = new Set<Waiter>();
  #resolveDone!: (blob: VerifiedBlob) => void;
  #rejectDone!: (err: Error) => void;

  constructor(size: number) {
    this.size = size;
    this.done = new Promise<VerifiedBlob>((res, rej) => ((this.#resolveDone = res), (this.#rejectDone = rej)));
    this.done.catch(() => {}); // read later (or never)
  }

  /** Bytes readable now (0 for a compressed blob until it completes). */
  get received(): number {
    return this.#received;
  }

  /** Whether the blob failed (wrong hash, lease ended, link closed, or a reader gave up on it). */
  get failed(): boolean {
    return this.#error !== undefined;
  }

  /** Resolves with the buffer (the blob's whole size; the first `bytes` of it filled) once `bytes` arrived. */
  waitFor(bytes: number): Promise<Uint8Array> {
    if (this.#error) return Promise.reject(this.#error);
    if (bytes > this.size) return Promise.reject(new RangeError(`Cannot wait for ${bytes} bytes as the blob holds ${this.size}: current value is ${bytes}`));
    if (this.#buffer && this.#received >= bytes) return Promise.resolve(this.#buffer);
    return new Promise((resolve, reject) => this.#waiters.add({ bytes, resolve, reject }));
  }

  /** The receiver filled `buffer` up to `received` bytes (raw blobs, per chunk; or the whole data at the end). */
  progress(buffer: Uint8Array, received: number): void {
    if (this.#error) return;
    this.#buffer = buffer;
    this.#received = received;
    for (const w of this.#waiters) {
      if (w.bytes <= received) {
        this.#waiters.delete(w);
        w.resolve(buffer);
      }
    }
  }

  /** The blob is complete; `blob` settles with its hash check. */
  complete(blob: Promise<VerifiedBlob>): void {
    blob.then((b) => {
      this.progress(new Uint8Array(b.bytes), b.bytes.byteLength);
      this.#resolveDone(b);
    }, (err: Error) => this.fail(err));
  }

  /** Fails every pending and later read with `err` (first error wins). */
  fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    this.#rejectDone(err);
    for (const w of this.#waiters) w.reject(err);
    this.#waiters.clear();
  }
}
