/** Error codes that cross a worker, peer or coordinator boundary. */
export type ErrorCode =
  | 'invalid-message'
  | 'unsupported-version'
  | 'unauthorized'
  | 'not-found'
  | 'conflict'
  | 'insufficient-funds'
  | 'rate-limited'
  | 'too-large'
  | 'no-capable-peer'
  | 'lease-expired'
  | 'hash-mismatch'
  | 'gpu-unavailable'
  | 'gpu-device-lost'
  | 'gpu-validation'
  | 'onnx-failed'
  | 'transfer-failed'
  | 'cancelled'
  | 'internal'
  // Why a contributor could not finish a lease (coordinator.ts LEASE_FAILURES): its own local faults...
  | 'worker-crashed'
  | 'timeout'
  | 'device-lost'
  | 'cache-corrupt'
  | 'out-of-memory'
  // ...or a shard it cannot run as given.
  | 'unsupported'
  | 'bad-input'
  // ...or a lease to answer from its result cache whose output it no longer keeps.
  | 'not-cached'
  // ...or a pipeline lease whose inputs' holder did not deliver them (protocol/pipeline.ts).
  | 'source-lost';

/** An error that keeps its `code` (and `name`) across worker, peer and coordinator boundaries. */
export class MeshError extends Error {
  override name = 'MeshError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Plain-data form of an error, safe to postMessage or JSON-encode. */
export interface WireError {
  name: string;
  code: ErrorCode;
  message: string;
}

/** Converts any thrown value to its wire form, keeping name, message and code. */
export function toWireError(err: unknown): WireError {
  if (err instanceof MeshError) return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) {
    const code = err.name === 'ValidationError' ? 'invalid-message' : 'internal';
    return { name: err.name, code, message: err.message };
  }
  return { name: 'Error', code: 'internal', message: String(err) };
}

/** Rebuilds a MeshError from its wire form. */
export function fromWireError(wire: WireError): MeshError {
  const err = new MeshError(wire.code, wire.message);
  err.name = wire.name;
  return err;
}
