/**
 * Receiving side of blob transfers on a peer link. A `blob` control frame announces a transfer (id, size,
 * SHA-256); binary chunk frames `[tid][seq][payload]` follow in order on the reliable, ordered channel.
 * The receiver enforces the announced wire size (never more bytes than announced, never more than MAX_BLOB_BYTES),
 * the chunk order, and a cap on concurrent transfers; the caller checks the hash with `verifyBlob`.
 * Transfers nobody wants (a lease already given up) are still tracked so their chunks are consumed and
 * size-checked, but their bytes are dropped instead of buffered.
 */
import { sha256Hex } from '../core/hash.ts';
import { MeshError } from '../protocol/errors.ts';
import { MAX_BLOB_BYTES, type PeerFrame } from '../protocol/peer.ts';

/** A `blob` announcement. */
export type BlobFrame = Extract<PeerFrame, { type: 'blob' }>;

/** A transfer whose bytes have all arrived (hash not yet checked, still compressed if it was sent so). */
export interface CompletedBlob {
  frame: BlobFrame;
  /** The wire bytes, or undefined for a transfer announced as unwanted. */
  bytes: ArrayBuffer | undefined;
}

interface Incoming {
  frame: BlobFrame;
  buffer: Uint8Array | undefined;
  received: number;
  nextSeq: number;
  onBytes: ((buffer: Uint8Array, received: number) => void) | undefined;
}

/** Reassembles announced blobs from chunk frames, one instance per link direction. */
export class BlobReceiver {
  readonly #active = new Map<number, Incoming>();
  readonly #maxActive: number;

  constructor(opts: { maxActive?: number } = {}) {
    this.#maxActive = opts.maxActive ?? 32;
  }

  /** Number of transfers in progress. */
  get active(): number {
    return this.#active.size;
  }

  /**
   * Starts a transfer. `keep` false consumes the chunks without storing them; `onBytes`, when kept, hears the
   * buffer and the bytes stored so far after each chunk. Returns the completed blob at once for an empty one.
   * Throws MeshError on a reused transfer id, too many transfers or a blob too large.
   */
  announce(frame: BlobFrame, keep: boolean, onBytes?: (buffer: Uint8Array, received: number) => void): CompletedBlob | undefined {
    if (this.#active.has(frame.tid)) {
      throw new MeshError('invalid-message', `Cannot start transfer ${frame.tid} as its id is already in use: current transfer is for ${frame.leaseId}`);
    }
    if (this.#active.size >= this.#maxActive) {
      throw new MeshError('rate-limited', `Cannot start transfer ${frame.tid} as at most ${this.#maxActive} may run at once: current count is ${this.#active.size}`);
    }
    if (frame.bytes > MAX_BLOB_BYTES) {
      throw new MeshError('too-large', `Cannot accept blob as it must be at most ${MAX_BLOB_BYTES} bytes: current size is ${frame.bytes}`);
    }
    const size = wireSize(frame);
    if (size === 0) return { frame, bytes: keep ? new ArrayBuffer(0) : undefined };
    this.#active.set(frame.tid, { frame, buffer: keep ? new Uint8Array(size) : undefined, received: 0, nextSeq: 0, onBytes });
    return undefined;
  }

  /**
   * Adds one chunk. Returns the completed blob when its last byte arrived. Throws MeshError for a chunk of an
   * unknown transfer, out of order, or past the announced size.
   */
  chunk(tid: number, seq: number, payload: Uint8Array): CompletedBlob | undefined {
    const t = this.#active.get(tid);
    if (!t) throw new MeshError('invalid-message', `Cannot accept chunk ${seq} as transfer ${tid} was not announced: current transfers are [${[...this.#active.keys()]}]`);
    if (seq !== t.nextSeq) {
      throw new MeshError('invalid-message', `Cannot accept chunk of transfer ${tid} out of order: expected ${t.nextSeq}, current value is ${seq}`);
    }
    const size = wireSize(t.frame);
    if (t.received + payload.byteLength > size) {
      this.#active.delete(tid);
      throw new MeshError('too-large', `Cannot accept chunk ${seq} as transfer ${tid} announced ${size} bytes: current total would be ${t.received + payload.byteLength}`);
    }
    t.buffer?.set(payload, t.received);
    t.received += payload.byteLength;
    t.nextSeq++;
    if (t.buffer && t.onBytes) t.onBytes(t.buffer, t.received);
    if (t.received < size) return undefined;
    this.#active.delete(tid);
    return { frame: t.frame, bytes: t.buffer?.buffer as ArrayBuffer | undefined };
  }

  /** Stops storing the bytes of transfers for a lease that is no longer wanted. */
  discard(leaseId: string): void {
    for (const t of this.#active.values()) if (t.frame.leaseId === leaseId) t.buffer = undefined;
  }

  /** Drops every transfer in progress. */
  clear(): void {
    this.#active.clear();
  }
}

/** Bytes a blob occupies on the wire: its compressed size if it travels compressed, else its size. */
export function wireSize(frame: BlobFrame): number {
  return frame.wireBytes ?? frame.bytes;
}

/**
 * A received blob whose bytes hash to `sha256`: the announced hash, or for outputs announced without one
 * (sent while computed) the hash of what arrived, which the reader must compare with `done.outputHash`.
 */
export interface VerifiedBlob {
  bytes: ArrayBuffer;
  sha256: string;
}

/**
 * Resolves to the bytes and their hash if they hash to the announced SHA-256, else rejects with
 * 'hash-mismatch'; a blob announced without a hash (outputs only) resolves with the hash of its bytes.
 */
export async function verifyBlob(frame: BlobFrame, bytes: ArrayBuffer): Promise<VerifiedBlob> {
  const actual = await sha256Hex(bytes);
  if (frame.sha256 === undefined && frame.what === 'outputs') return { bytes, sha256: actual };
  if (actual !== frame.sha256) {
    throw new MeshError('hash-mismatch', `Cannot accept ${frame.what} of lease ${frame.leaseId} as it must hash to ${frame.sha256}: current hash is ${actual}`);
  }
  return { bytes, sha256: actual };
}

/** Splits bytes into chunk payloads of at most `size` bytes (views, no copy). */
export function* chunkPayloads(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`Cannot chunk as 'size' must be a positive integer: current value is ${size}`);
  }
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.subarray(at, Math.min(at + size, bytes.byteLength));
}
