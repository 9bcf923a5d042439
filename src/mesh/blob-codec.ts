/**
 * Optional compression of peer-link blobs with the platform's deflate-raw (CompressionStream), the cheapest
 * lever on mesh overhead where the data channel is the bottleneck: detector images shrink ~50x, while random
 * floats do not shrink at all. The sender therefore compresses a sample first and sends raw unless the sample
 * halves. The receiver inflates with a hard cap at the announced uncompressed size (a few bytes on the wire
 * can inflate to gigabytes) and then checks the SHA-256 of the uncompressed bytes, as for a raw blob.
 */
import { MeshError } from '../protocol/errors.ts';
import type { BlobFrame, VerifiedBlob } from './transfer.ts';
import { verifyBlob } from './transfer.ts';

/** Blobs smaller than this are always sent raw (compressing them saves less than it costs). */
export const COMPRESS_MIN_BYTES = 256 * 1024;
/** Bytes from the start of a blob compressed to decide whether the whole is worth compressing. */
export const SAMPLE_BYTES = 256 * 1024;
/** A sample must compress to below this share of its size for the blob to be sent compressed. */
export const MAX_SAMPLE_RATIO = 0.5;
/** Compressed bytes fed to the inflater per step: bounds how far it can run past the cap before we stop it. */
const INFLATE_FEED_BYTES = 16 * 1024;

/** What goes on the wire for one blob: the bytes and, if compressed, their encoding. */
export interface EncodedBlob {
  wire: Uint8Array;
  encoding?: 'deflate-raw';
}

/** Compresses bytes with deflate-raw. */
export async function deflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new CompressionStream('deflate-raw');
  const writer = stream.writable.getWriter();
  // Written while the output is read below; a write error surfaces through the readable as well.
  const written = writer.write(bytes as Uint8Array<ArrayBuffer>).then(() => writer.close());
  written.catch(() => {});
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.byteLength;
  }
  await written;
  return concat(parts, total);
}

/**
 * Decides how to send a blob: compressed when it is at least COMPRESS_MIN_BYTES and its first SAMPLE_BYTES
 * compress below MAX_SAMPLE_RATIO (and the whole then really is smaller), else raw (the same bytes, no copy).
 */
export async function encodeBlob(bytes: Uint8Array): Promise<EncodedBlob> {
  if (bytes.byteLength < COMPRESS_MIN_BYTES) return { wire: bytes };
  const sample = bytes.subarray(0, SAMPLE_BYTES);
  const squeezed = await deflateRaw(sample);
  if (squeezed.byteLength >= sample.byteLength * MAX_SAMPLE_RATIO) return { wire: bytes };
  const wire = sample.byteLength === bytes.byteLength ? squeezed : await deflateRaw(bytes);
  return wire.byteLength < bytes.byteLength ? { wire, encoding: 'deflate-raw' } : { wire: bytes };
}

/**
 * Inflates deflate-raw data that must come to exactly `expectedBytes`. Stops reading and rejects with
 * MeshError 'too-large' as soon as the output would pass `expectedBytes`; rejects with 'transfer-failed' for
 * corrupt data or an output shorter than announced.
 */
export async function inflateRaw(wire: Uint8Array, expectedBytes: number): Promise<ArrayBuffer> {
  if (!Number.isSafeInteger(expectedBytes) || expectedBytes < 0) {
    throw new RangeError(`Cannot inflate as 'expectedBytes' must be a non-negative integer: current value is ${expectedBytes}`);
  }
  const stream = new DecompressionStream('deflate-raw');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  // Fed in small steps: the inflater only runs while we read, so a bomb is cut off within one step's output.
  const fed = (async () => {
    for (let at = 0; at < wire.byteLength; at += INFLATE_FEED_BYTES) {
      await writer.write(wire.subarray(at, Math.min(at + INFLATE_FEED_BYTES, wire.byteLength)) as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  })();
  fed.catch(() => {});
  const out = new Uint8Array(expectedBytes);
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.byteLength > expectedBytes) {
        throw new MeshError('too-large', `Cannot inflate blob as it announced ${expectedBytes} bytes: current output is at least ${total + value.byteLength}`);
      }
      out.set(value, total);
      total += value.byteLength;
    }
    await fed;
  } catch (err) {
    reader.cancel().catch(() => {});
    if (err instanceof MeshError) throw err;
    throw new MeshError('transfer-failed', `Cannot inflate blob as its data is corrupt: ${(err as Error).message}`);
  }
  if (total !== expectedBytes) {
    throw new MeshError('transfer-failed', `Cannot inflate blob as it announced ${expectedBytes} bytes: current output is ${total}`);
  }
  return out.buffer;
}

/** Turns a received blob's wire bytes into its verified uncompressed bytes (inflating if it was compressed). */
export async function decodeBlob(frame: BlobFrame, wire: ArrayBuffer): Promise<VerifiedBlob> {
  const bytes = frame.encoding === 'deflate-raw' ? await inflateRaw(new Uint8Array(wire), frame.bytes) : wire;
  return verifyBlob(frame, bytes);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
