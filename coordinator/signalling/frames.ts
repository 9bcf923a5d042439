/**
 * PeerJS signalling frames. The stock client sends `{type, dst, payload}` JSON; the server relays the
 * forwarding types with `src` forced to the sender, so no peer can speak for another.
 */
import * as v from 'valibot';
import { PEERJS_ID, PeerIdSchema } from '../../src/protocol/coordinator.ts';
import { describeValue } from '../../src/protocol/validate.ts';

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
  return v.is(PeerIdSchema, id);
}

// Every message completes "Cannot accept <frame type, or 'frame'> as ...", the form ERROR replies have always had.
const typeMessage = (value: unknown) => `'type' must be one of ${CLIENT_TYPES.join(', ')}: current value is ${describeValue(value)}`;
const dstMessage = (issue: v.BaseIssue<unknown>) => `'dst' must be a peer id: current value is ${describeValue(issue.input)}`;

/** A client frame: unknown fields are dropped (stock PeerJS clients may add some), `dst` required unless HEARTBEAT or LEAVE. */
export const SignalFrameSchema = v.pipe(
  v.custom<Record<string, unknown>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), 'it must be a JSON object'),
  v.object({
    // The object schema reports a missing `type` itself, and `type` is its only required field.
    type: v.picklist(CLIENT_TYPES, (issue) => typeMessage(issue.input)),
    dst: v.exactOptional(v.pipe(v.string(dstMessage), v.maxLength(64, dstMessage), v.regex(PEERJS_ID, dstMessage))),
    payload: v.exactOptional(v.unknown()),
  }, () => typeMessage(undefined)),
  v.check((f) => f.dst !== undefined || f.type === 'HEARTBEAT' || f.type === 'LEAVE', "'dst' is missing"),
);

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
  const result = v.safeParse(SignalFrameSchema, value, { abortEarly: true });
  if (result.success) return result.output;
  const type = (value as { type?: unknown } | null)?.type;
  const subject = CLIENT_TYPES.includes(type as ClientType) ? String(type) : 'frame';
  throw new TypeError(`Cannot accept ${subject} as ${result.issues[0].message}`);
}
