/** Argument checks for the ledger: bad arguments are caller bugs, so they throw TypeError/RangeError. */
import { MeshError } from '../../src/protocol/errors.ts';

/** Longest id (peer, job, receipt) accepted; keeps every KV key far below its 2 KiB limit. */
export const MAX_ID_LENGTH = 256;
/** Longest evidence JSON kept with a receipt; 16 Ki UTF-16 units stay under KV's 64 KiB value limit. */
export const MAX_EVIDENCE_CHARS = 16_384;

/** Throws RangeError unless `value` is a non-negative safe integer amount of micro-credits. */
export function checkAmount(action: string, name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a non-negative integer of micro-credits: current value is ${String(value)}`,
    );
  }
}

/** Throws TypeError unless `value` is a non-empty id of at most MAX_ID_LENGTH characters. */
export function checkId(action: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a string of 1..${MAX_ID_LENGTH} characters: current value is ${shown}`,
    );
  }
}

/** Like checkId, and rejects account keys passed where a bare peer id belongs (`peer:x` instead of `x`). */
export function checkPeerId(action: string, name: string, value: unknown): asserts value is string {
  checkId(action, name, value);
  if (value.includes(':')) {
    throw new TypeError(`Cannot ${action} as '${name}' must be a peer id, not an account key: current value is ${JSON.stringify(value)}`);
  }
}

/** Encodes settlement evidence as JSON text; refuses values JSON cannot encode or too large to store. */
export function encodeEvidence(evidence: unknown): string | null {
  if (evidence === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(evidence);
  } catch (err) {
    throw new TypeError(`Cannot store settlement evidence as it is not JSON-encodable: ${(err as Error).message}`, { cause: err });
  }
  if (json === undefined) {
    throw new TypeError(`Cannot store settlement evidence as it is not JSON-encodable: current type is ${typeof evidence}`);
  }
  if (json.length > MAX_EVIDENCE_CHARS) {
    // Truncating would break the signature the evidence exists to keep, so refuse instead.
    throw new MeshError(
      'too-large',
      `Cannot store settlement evidence larger than ${MAX_EVIDENCE_CHARS} JSON characters: current size is ${json.length}`,
    );
  }
  return json;
}
