/**
 * What coordinator instances of a cluster tell each other about the market, over the bus (coordinator/bus).
 * Instances trust each other (they share the database and the ledger), but a message from another version or
 * a misconfigured bus must not crash one: every message is checked for shape before use, and one that fails is
 * counted and dropped.
 *
 * Subjects: `mkt.i.<instance>` for one instance (requests, replies, frames for its peers, declines, ends of
 * runs); `mkt.contrib` (contributor rows), `mkt.cred` (track record events) and `mkt.jobs` (job moves) for all.
 */
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import type { RemoteRow } from '../market/contributors.ts';
import type { CredibilityEvent } from '../market/credibility.ts';
import type { WireError } from '../../src/protocol/errors.ts';

export const CONTRIB_SUBJECT = 'mkt.contrib';
export const CRED_SUBJECT = 'mkt.cred';
export const JOBS_SUBJECT = 'mkt.jobs';

/** The subject of one instance. */
export function instanceSubject(instance: string): string {
  return `mkt.i.${instance}`;
}

/** A request to one instance (rpc.ts). */
export interface RequestMsg {
  t: 'req';
  id: number;
  from: string;
  op: string;
  body: unknown;
}

/** The reply to a request. */
export type ReplyMsg = { t: 'res'; id: number; from: string; ok: true; body: unknown } | { t: 'res'; id: number; from: string; ok: false; error: WireError };

/** A frame the sender wants delivered to one of the receiver's peers (an `assign` is checked against capacity). */
export interface DeliverMsg {
  t: 'deliver';
  from: string;
  peer: string;
  frame: ServerFrame;
}

/** The home of a contributor refused a lease (no capacity, or the peer left): the owner releases it. */
export interface DeclinedMsg {
  t: 'declined';
  from: string;
  leaseId: string;
  reason: string;
}

/** Runs of the sender's jobs that left flight: their contributors' homes stop counting them. */
export interface EndedMsg {
  t: 'ended';
  from: string;
  leases: string[];
}

/** Contributors a home serves (changed rows), and those that left it; `seq` grows by one per message of a home. */
export interface ContribMsg {
  t: 'contribs';
  home: string;
  seq: number;
  rows: RemoteRow[];
  gone: string[];
  /** The home stops (clean shutdown): drop all its contributors. */
  leaving?: boolean;
}

/** Track record events an instance judged. */
export interface CredMsg {
  t: 'cred';
  from: string;
  events: CredibilityEvent[];
}

/** A job changed owner. */
export interface MovedMsg {
  t: 'moved';
  from: string;
  jobId: string;
  owner: string;
}

export type DirectMsg = RequestMsg | ReplyMsg | DeliverMsg | DeclinedMsg | EndedMsg;

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
const int = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A direct message, or undefined when its shape is wrong. */
export function readDirect(v: unknown): DirectMsg | undefined {
  if (!obj(v) || !str(v.from)) return undefined;
  switch (v.t) {
    case 'req':
      return int(v.id) && str(v.op) ? v as unknown as RequestMsg : undefined;
    case 'res':
      return int(v.id) && typeof v.ok === 'boolean' && (v.ok || obj(v.error)) ? v as unknown as ReplyMsg : undefined;
    case 'deliver':
      return str(v.peer) && obj(v.frame) && typeof v.frame.type === 'string' ? v as unknown as DeliverMsg : undefined;
    case 'declined':
      return str(v.leaseId) && typeof v.reason === 'string' ? v as unknown as DeclinedMsg : undefined;
    case 'ended':
      return Array.isArray(v.leases) && v.leases.length <= 10_000 && v.leases.every(str) ? v as unknown as EndedMsg : undefined;
  }
  return undefined;
}

/** A contributor broadcast, or undefined when its shape is wrong. */
export function readContrib(v: unknown): ContribMsg | undefined {
  if (!obj(v) || v.t !== 'contribs' || !str(v.home) || !int(v.seq) || !Array.isArray(v.rows) || !Array.isArray(v.gone)) return undefined;
  if (!v.gone.every(str)) return undefined;
  const rowOk = (r: unknown) =>
    obj(r) && str(r.peerId) && str(r.home) && obj(r.caps) && typeof r.askPrice === 'number' && int(r.maxConcurrent) &&
    (r.state === 'active' || r.state === 'paused') && typeof r.network === 'string' && typeof r.placement === 'string' &&
    typeof r.registeredAt === 'number' && int(r.load) && int(r.unpaid);
  return v.rows.every(rowOk) ? v as unknown as ContribMsg : undefined;
}

/** A track record broadcast, or undefined when its shape is wrong. */
export function readCred(v: unknown): CredMsg | undefined {
  if (!obj(v) || v.t !== 'cred' || !str(v.from) || !Array.isArray(v.events)) return undefined;
  const ok = v.events.every((e) => {
    if (!obj(e)) return false;
    if (e.kind === 'agreed') return Array.isArray(e.peers) && e.peers.length <= 16 && e.peers.every(str);
    if (e.kind === 'failed' || e.kind === 'paid') return str(e.peer);
    return e.kind === 'speed' && str(e.peer) && typeof e.workUnits === 'number' && typeof e.ms === 'number';
  });
  return ok ? v as unknown as CredMsg : undefined;
}

/** A job move broadcast, or undefined when its shape is wrong. */
export function readMoved(v: unknown): MovedMsg | undefined {
  return obj(v) && v.t === 'moved' && str(v.from) && str(v.jobId) && str(v.owner) ? v as unknown as MovedMsg : undefined;
}
