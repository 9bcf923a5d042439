/**
 * Frames between a client and a contributor on a PeerJS data connection (serialization 'raw', reliable,
 * ordered). Control frames are JSON text; bulk data goes as binary chunk frames:
 * `[u32 transferId][u32 seq][payload]` little-endian, announced by a `blob` control frame that states the
 * total size and SHA-256. The receiver checks the hash before using the bytes. A blob may travel compressed
 * (`encoding: 'deflate-raw'`, `wireBytes` on the wire); `bytes` and `sha256` always describe the uncompressed
 * data, so content addressing does not depend on how it travelled. Both fields are optional (older peers
 * neither send nor expect them).
 *
 * Flow for one lease: client `shard` -> contributor `need` (does it lack the model?) -> client `blob`
 * (model, if needed) and `blob` (inputs) -> contributor runs -> contributor `blob` (outputs) then `done`,
 * or `fail` at any point.
 */
import { arr, bool, type Infer, lit, num, obj, oneOf, opt, type Parser, str, tagged, ValidationError } from './validate.ts';
import { parseSha256 } from './kernel.ts';
import { parseTensorSpec } from './tensor.ts';
import type { WireError } from './errors.ts';

/** Largest chunk payload: keeps frames under the 256 KiB SCTP message limit with room for the header. */
export const CHUNK_BYTES = 64 * 1024;
/** Bytes of the binary chunk header. */
export const CHUNK_HEADER_BYTES = 8;
/** Largest blob a peer accepts (models included). */
export const MAX_BLOB_BYTES = 512 * 1024 * 1024;

const id = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ });
const tid = num({ int: true, min: 1, max: 0xffffffff });

const blobFields = obj({
  type: lit('blob'),
  leaseId: id,
  tid,
  what: oneOf('model', 'inputs', 'outputs'),
  bytes: num({ int: true, min: 0, max: MAX_BLOB_BYTES }),
  sha256: parseSha256,
  encoding: opt(lit('deflate-raw')),
  wireBytes: opt(num({ int: true, min: 0, max: MAX_BLOB_BYTES })),
});

/** A `blob` announcement; `wireBytes` must be present exactly when `encoding` is. */
const parseBlobFrame: Parser<Infer<typeof blobFields>> = (v, p = '') => {
  const frame = blobFields(v, p);
  if ((frame.encoding === undefined) !== (frame.wireBytes === undefined)) {
    const path = p ? `${p}.wireBytes` : 'wireBytes';
    throw new ValidationError(path, frame.encoding ? 'the compressed size with an encoding' : 'no value without an encoding', frame.wireBytes);
  }
  return frame;
};

/** Control frames on a peer data connection. */
export const parsePeerFrame = tagged({
  shard: obj({ type: lit('shard'), v: num({ int: true }), leaseId: id }),
  need: obj({ type: lit('need'), leaseId: id, model: bool() }),
  blob: parseBlobFrame,
  done: obj({ type: lit('done'), leaseId: id, outputHash: parseSha256, outputs: arr(parseTensorSpec, { max: 64 }) }),
  fail: obj({
    type: lit('fail'),
    leaseId: id,
    error: obj({ name: str({ max: 100 }), code: str({ max: 40 }), message: str({ max: 2000 }) }),
  }),
});
/** A control frame between peers. */
export type PeerFrame = Infer<typeof parsePeerFrame>;
/** The fail frame carries a wire error. */
export type PeerFailFrame = { type: 'fail'; leaseId: string; error: WireError };

/** Writes the 8-byte header and payload of a chunk frame. */
export function encodeChunk(transferId: number, seq: number, payload: Uint8Array): ArrayBuffer {
  const out = new Uint8Array(CHUNK_HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, transferId, true);
  view.setUint32(4, seq, true);
  out.set(payload, CHUNK_HEADER_BYTES);
  return out.buffer;
}

/** Reads a chunk frame; throws RangeError on a frame too short to hold the header. */
export function decodeChunk(frame: ArrayBuffer): { transferId: number; seq: number; payload: Uint8Array } {
  if (frame.byteLength < CHUNK_HEADER_BYTES) {
    throw new RangeError(`Cannot decode chunk as it is too short: current length is ${frame.byteLength}`);
  }
  const view = new DataView(frame);
  return {
    transferId: view.getUint32(0, true),
    seq: view.getUint32(4, true),
    payload: new Uint8Array(frame, CHUNK_HEADER_BYTES),
  };
}
