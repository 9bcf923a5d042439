/**
 * PeerJS signalling frames. The stock client sends `{type, dst, payload}` JSON; the server relays the
 * forwarding types with `src` forced to the sender, so no peer can speak for another.
 */
import { PEERJS_ID } from '../../src/protocol/coordinator.ts';

/** Frame types a client may send. */
export const CLIENT_TYPES = ['HEARTBEAT', 'OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE'] as const;
/** One client frame type. */
export type ClientType = (typeof CLIENT_TYPES)[number];

/** Largest frame accepted (SDP offers with many candidates stay well below this). */
export const MAX_FRAME_CHARS = 64 * 1024;

/** A validated client frame. */
export interface SignalFrame {
  type: ClientType;
  dst?: string;
  payload?: unknown;
}

/** A frame the server sends. */
export interface ServerSignal {
  type: string;
  src?: string;
  dst?: string;
  payload?: unknown;
}

/** Valid PeerJS id (the client's own rule, plus a length cap). */
export function isValidPeerId(id: unknown): id is string {
  return typeof id === 'string' && id.length <= 64 && PEERJS_ID.test(id);
}

/** Parses one text frame; throws TypeError/RangeError with a message fit for an ERROR reply. */
export function parseSignalFrame(text: string): SignalFrame {
  if (text.length > MAX_FRAME_CHARS) {
    throw new RangeError(`Cannot accept frame as it exceeds ${MAX_FRAME_CHARS} characters: current length is ${text.length}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TypeError(`Cannot accept frame as it is not valid JSON: current value is ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('Cannot accept frame as it must be a JSON object');
  }
  const { type, dst, payload } = value as Record<string, unknown>;
  if (!CLIENT_TYPES.includes(type as ClientType)) {
    throw new TypeError(`Cannot accept frame as 'type' must be one of ${CLIENT_TYPES.join(', ')}: current value is ${JSON.stringify(type)}`);
  }
  const frame: SignalFrame = { type: type as ClientType };
  if (dst !== undefined) {
    if (!isValidPeerId(dst)) throw new TypeError(`Cannot accept ${type} as 'dst' must be a peer id: current value is ${JSON.stringify(dst)}`);
    frame.dst = dst;
  }
  if (payload !== undefined) frame.payload = payload;
  if (frame.dst === undefined && type !== 'HEARTBEAT' && type !== 'LEAVE') {
    throw new TypeError(`Cannot accept ${type} as 'dst' is missing`);
  }
  return frame;
}
