/**
 * Frames between a client and a contributor on a PeerJS data connection (serialization 'raw', reliable,
 * ordered). Control frames are JSON text; bulk data goes as binary chunk frames:
 * `[u32 transferId][u32 seq][payload]` little-endian, announced by a `blob` control frame that states the
 * total size and SHA-256. The receiver checks the hash before using the bytes. A blob may travel compressed
 * (`encoding: 'deflate-raw'`, `wireBytes` on the wire); `bytes` and `sha256` always describe the uncompressed
 * data, so content addressing does not depend on how it travelled. Both fields are optional (older peers
 * neither send nor expect them). Raw outputs may be announced without `sha256` so they can be sent while they
 * are computed; the receiver then hashes them and compares with the `done` frame's `outputHash`.
 *
 * Flow for one lease: client `shard` -> contributor `need` (does it lack the model?) -> client `blob`
 * (model, if needed) and `blob` (inputs) -> contributor runs -> contributor `blob` (outputs) then `done`,
 * or `fail` at any point. A pipeline stage that keeps its outputs for the next stage sends `done` without the
 * outputs blob; the next stage's contributor asks for them with `pull` (protocol/pipeline.ts), and so may the
 * job's client when it must compare two replicas' outputs.
 */
import * as v from 'valibot';
import { IdSchema, int, list, text } from './_fields.ts';
import { Sha256Schema } from './kernel.ts';
import { TensorSpecSchema } from './tensor.ts';
import { parser } from './validate.ts';
import type { WireError } from './errors.ts';
import { SERVE_PEER_FRAMES } from './serving.ts';

/** Largest chunk payload: keeps frames under the 256 KiB SCTP message limit with room for the header. */
export const CHUNK_BYTES = 64 * 1024;
/** Bytes of the binary chunk header. */
export const CHUNK_HEADER_BYTES = 8;
/** Largest blob a peer accepts (models included). */
export const MAX_BLOB_BYTES = 512 * 1024 * 1024;

/** A `blob` announcement; `wireBytes` must be present exactly when `encoding` is. */
export const BlobFrameSchema = v.pipe(
  v.strictObject({
    type: v.literal('blob'),
    leaseId: IdSchema,
    tid: int(1, 0xffffffff),
    what: v.picklist(['model', 'inputs', 'outputs']),
    bytes: int(0, MAX_BLOB_BYTES),
    sha256: v.exactOptional(Sha256Schema),
    encoding: v.exactOptional(v.literal('deflate-raw')),
    wireBytes: v.exactOptional(int(0, MAX_BLOB_BYTES)),
  }),
  v.forward(v.check((f) => f.encoding === undefined || f.wireBytes !== undefined, 'the compressed size with an encoding'), ['wireBytes']),
  v.forward(v.check((f) => f.encoding !== undefined || f.wireBytes === undefined, 'no value without an encoding'), ['wireBytes']),
  // Only outputs may be announced before their hash is known (sent as they are computed, raw): the client
  // checks them against `done.outputHash`. Model and inputs are always checked against the announced hash.
  v.forward(v.check((f) => f.sha256 !== undefined || (f.what === 'outputs' && f.encoding === undefined), 'a hash, except for raw outputs'), ['sha256']),
);

const b64url = (min: number, max: number) => v.pipe(v.string(), v.minLength(min), v.maxLength(max), v.regex(/^[A-Za-z0-9_-]+$/));

/**
 * The first frames on every link: each side says who it is (`hello`: keyed peer id, raw Ed25519 public key,
 * a fresh nonce) and proves it (`proof`: a signature over the other side's nonce, both ids and both DTLS
 * fingerprints, see src/mesh/link-auth.ts). Nothing else is read before the other side's proof verifies.
 */
export const LinkFrameSchema = v.variant('type', [
  v.strictObject({ type: v.literal('hello'), v: int(0, 1_000_000), peerId: v.pipe(v.string(), v.regex(/^mw[0-9a-f]{40}$/)), publicKey: b64url(43, 43), nonce: b64url(16, 64) }),
  v.strictObject({ type: v.literal('proof'), signature: b64url(86, 86) }),
]);
/** A link authentication frame. */
export type LinkFrame = v.InferOutput<typeof LinkFrameSchema>;
/** Validates a link authentication frame. */
export const parseLinkFrame = parser(LinkFrameSchema);

/** Control frames on a peer data connection, tagged by `type`. */
export const PeerFrameSchema = v.variant('type', [
  v.strictObject({ type: v.literal('shard'), v: int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), leaseId: IdSchema }),
  v.strictObject({ type: v.literal('need'), leaseId: IdSchema, model: v.boolean() }),
  /** Asks for the outputs a peer keeps for pipeline lease `leaseId` (answered by `blob` + `done`, or `fail`). */
  v.strictObject({ type: v.literal('pull'), v: int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), leaseId: IdSchema }),
  BlobFrameSchema,
  v.strictObject({ type: v.literal('done'), leaseId: IdSchema, outputHash: Sha256Schema, outputs: list(TensorSpecSchema, 0, 64) }),
  v.strictObject({
    type: v.literal('fail'),
    leaseId: IdSchema,
    error: v.strictObject({ name: text(0, 100), code: text(0, 40), message: text(0, 2000) }),
  }),
  /** Continuous serving (serving.ts): requests and answers keyed by request. */
  ...SERVE_PEER_FRAMES,
]);
/** A control frame between peers. */
export type PeerFrame = v.InferOutput<typeof PeerFrameSchema>;
/** Validates a control frame between peers. */
export const parsePeerFrame = parser(PeerFrameSchema);
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
