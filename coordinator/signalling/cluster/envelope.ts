/**
 * What instances say to each other over the bus. Two subjects:
 * - `mw.sig.to.<instance>`: frames for peers held by that instance (`relay`), `src` already forced by the
 *   instance the sender is connected to;
 * - `mw.sig.peers`: every instance hears `opened` (an id was claimed here, with its epoch: older holders close
 *   their socket, queues for it are forwarded here) and `closed` (an id was released here).
 * Instances trust each other (the bus is the cluster's private network), but every envelope is still checked
 * before use, so a malformed one is dropped and counted rather than thrown into the signalling server.
 */
import { isValidPeerId, type ServerSignal } from '../frames.ts';

/** Version of the envelopes; instances drop others. */
export const ENVELOPE_VERSION = 1;
/** Subject of announcements to every instance. */
export const PEERS_SUBJECT = 'mw.sig.peers';
/** Subject of frames for one instance. */
export function instanceSubject(instance: string): string {
  return `mw.sig.to.${instance}`;
}
/** Relays at most this many times (a frame forwarded on a stale route may be forwarded once more). */
export const MAX_HOPS = 2;

/** A frame the server relays: `src` and `dst` are set. */
export interface RoutedSignal extends ServerSignal {
  type: 'OFFER' | 'ANSWER' | 'CANDIDATE' | 'LEAVE' | 'EXPIRE';
  src: string;
  dst: string;
}

/** A frame for a peer held by the receiving instance. */
export interface RelayEnvelope {
  v: typeof ENVELOPE_VERSION;
  k: 'relay';
  from: string;
  hops: number;
  frame: RoutedSignal;
}

/** An id claimed on (`opened`) or released by (`closed`) instance `from`. */
export interface PeerEnvelope {
  v: typeof ENVELOPE_VERSION;
  k: 'opened' | 'closed';
  from: string;
  peer: string;
  epoch: number;
}

/** Any envelope. */
export type Envelope = RelayEnvelope | PeerEnvelope;

/** An envelope as parsed, before checking. */
interface Loose {
  v?: unknown;
  k?: unknown;
  from?: unknown;
  hops?: unknown;
  frame?: { type?: unknown; src?: unknown; dst?: unknown; payload?: unknown } | null;
  peer?: unknown;
  epoch?: unknown;
}

const RELAYED = new Set(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE']);
const INSTANCE = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks a parsed envelope; throws TypeError naming what is wrong. */
export function checkEnvelope(value: unknown): Envelope {
  const e = value as Loose | null;
  if (typeof e !== 'object' || e === null) throw new TypeError(`Cannot accept envelope as it must be an object: current value is ${typeof value}`);
  if (e.v !== ENVELOPE_VERSION) throw new TypeError(`Cannot accept envelope as 'v' must be ${ENVELOPE_VERSION}: current value is ${String(e.v)}`);
  if (typeof e.from !== 'string' || !INSTANCE.test(e.from)) throw new TypeError(`Cannot accept envelope as 'from' must be an instance id: current value is ${String(e.from).slice(0, 80)}`);
  if (e.k === 'relay') {
    const f = e.frame as Loose['frame'];
    const hops = e.hops as number;
    if (!Number.isInteger(hops) || hops < 1 || hops > MAX_HOPS) throw new TypeError(`Cannot accept relay as 'hops' must be 1..${MAX_HOPS}: current value is ${String(e.hops)}`);
    if (typeof f !== 'object' || f === null || !RELAYED.has(f.type as string) || !isValidPeerId(f.src) || !isValidPeerId(f.dst)) {
      throw new TypeError(`Cannot accept relay as 'frame' must have a relayed type and valid src and dst: current value is ${JSON.stringify(f).slice(0, 120)}`);
    }
    const frame: RoutedSignal = { type: f.type as RoutedSignal['type'], src: f.src, dst: f.dst };
    if (f.payload !== undefined) frame.payload = f.payload;
    return { v: ENVELOPE_VERSION, k: 'relay', from: e.from, hops, frame };
  }
  if (e.k === 'opened' || e.k === 'closed') {
    if (!isValidPeerId(e.peer)) throw new TypeError(`Cannot accept ${e.k} as 'peer' must be a peer id: current value is ${String(e.peer).slice(0, 80)}`);
    const epoch = e.epoch as number;
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new TypeError(`Cannot accept ${e.k} as 'epoch' must be a non-negative integer: current value is ${String(e.epoch)}`);
    return { v: ENVELOPE_VERSION, k: e.k, from: e.from, peer: e.peer, epoch };
  }
  throw new TypeError(`Cannot accept envelope as 'k' must be relay, opened or closed: current value is ${String(e.k).slice(0, 40)}`);
}
