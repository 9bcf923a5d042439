/**
 * The coordinator's mesh API: JSON text frames over the WebSocket at `/mesh`. Signalling uses the separate
 * PeerJS-protocol socket; this one carries identity, registry, market, receipts and ledger queries.
 *
 * Session: server sends `challenge`; client answers `auth` with its Ed25519 public key and a signature over
 * `authMessage(nonce, peerId)`; server replies `welcome`. Every later client frame is a request with `rid`
 * and gets exactly one `ok` or `error` with the same `rid`. Server pushes (`assign`, `assigned`, ...) have no rid.
 * Amounts are integer micro-credits (1 credit = 1_000_000).
 */
import { arr, bool, type Infer, lit, num, obj, oneOf, opt, str, tagged } from './validate.ts';
import { parseKernelSpec, parseSha256, parseShardSpec } from './kernel.ts';
import { parseCapabilities } from './capabilities.ts';
import type { WireError } from './errors.ts';

/** Ids of keyed peers: `mw` + 40 hex digits of SHA-256(public key). */
export const KEYED_PEER_ID = /^mw[0-9a-f]{40}$/;
/** Any id the PeerJS protocol accepts. */
export const PEERJS_ID = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
/** Micro-credits in one credit. */
export const MICRO = 1_000_000;

const peerId = str({ min: 1, max: 64, pattern: PEERJS_ID });
const b64url = (max: number) => str({ min: 1, max, pattern: /^[A-Za-z0-9_-]+$/ });
const rid = num({ int: true, min: 0, max: 2 ** 53 - 1 });
const micro = num({ int: true, min: 0, max: 1e15 });
const id = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ });

/** The text an auth signature covers. */
export function authMessage(nonce: string, peerId: string): string {
  return `meshwork-auth:v1:${nonce}:${peerId}`;
}

/** Job as submitted by a client; signed as a whole (see `canonicalJson`). */
export const parseJobSpec = obj({
  kernel: parseKernelSpec,
  shards: arr(parseShardSpec, { min: 1, max: 10_000 }),
  /** Maximum micro-credits per work unit the client pays. */
  bid: micro,
  /** Fraction of shards run twice on different peers and compared (0..1). */
  verifyFraction: num({ min: 0, max: 1 }),
  /** Tolerance for comparing replicated outputs. */
  tolerance: obj({ abs: num({ min: 0 }), rel: num({ min: 0 }) }),
  /** Milliseconds from submission after which unfinished shards are abandoned and escrow refunded. */
  deadlineMs: num({ int: true, min: 1000, max: 7 * 24 * 3600 * 1000 }),
  /** Client-chosen unique value so two identical jobs have different signatures. */
  nonce: id,
});
/** A job as submitted. */
export type JobSpec = Infer<typeof parseJobSpec>;

/** What a client signs to pay for one shard. */
export const parseReceipt = obj({
  jobId: id,
  shard: num({ int: true, min: 0 }),
  leaseId: id,
  contributor: peerId,
  outputHash: parseSha256,
  workUnits: num({ int: true, min: 1, max: 1e12 }),
});
/** A receipt for one accepted shard. */
export type Receipt = Infer<typeof parseReceipt>;

/** What a contributor signs to claim a result. */
export const parseResultClaim = obj({
  jobId: id,
  shard: num({ int: true, min: 0 }),
  leaseId: id,
  outputHash: parseSha256,
});
/** A contributor's claim that it produced an output. */
export type ResultClaim = Infer<typeof parseResultClaim>;

const sig = b64url(200);

/** Every frame a peer may send to the coordinator's mesh socket. */
export const parseClientFrame = tagged({
  auth: obj({ type: lit('auth'), v: num({ int: true }), peerId, publicKey: b64url(100), signature: sig }),
  register: obj({
    type: lit('register'),
    rid,
    caps: parseCapabilities,
    askPrice: micro,
    maxConcurrent: num({ int: true, min: 1, max: 64 }),
  }),
  state: obj({ type: lit('state'), rid, state: oneOf('active', 'paused') }),
  unregister: obj({ type: lit('unregister'), rid }),
  submit: obj({ type: lit('submit'), rid, job: parseJobSpec, signature: sig }),
  result: obj({ type: lit('result'), rid, claim: parseResultClaim, signature: sig }),
  receipt: obj({ type: lit('receipt'), rid, receipt: parseReceipt, signature: sig }),
  reject: obj({
    type: lit('reject'),
    rid,
    jobId: id,
    shard: num({ int: true, min: 0 }),
    leaseId: id,
    reason: oneOf('hash-mismatch', 'verification-failed', 'transfer-failed', 'bad-output'),
  }),
  dispute: obj({ type: lit('dispute'), rid, jobId: id, shard: num({ int: true, min: 0 }) }),
  cancel: obj({ type: lit('cancel'), rid, jobId: id }),
  balance: obj({ type: lit('balance'), rid }),
  /** A job's status (its owner only); `detail` adds the shard-by-shard view. */
  job: obj({ type: lit('job'), rid, jobId: id, detail: opt(bool()) }),
});
/** A frame from peer to coordinator. */
export type ClientFrame = Infer<typeof parseClientFrame>;
/** A frame from peer to coordinator, by type. */
export type ClientFrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;

/** A contributor's right and duty to run one shard until `expiresAt` (ms since epoch). */
export interface Lease {
  leaseId: string;
  jobId: string;
  shard: number;
  client: string;
  contributor: string;
  /** Micro-credits per work unit the contributor is paid. */
  price: number;
  expiresAt: number;
  /** True when this run verifies another (replica, tie-breaker, arbiter). Only the job's client sees it. */
  replica: boolean;
}

/** A lease as its contributor sees it: whether the run is checked, or checks another, is not shown. */
export type ContributorLease = Omit<Lease, 'replica'>;

/** Progress of a job as the coordinator sees it. */
export interface JobStatus {
  jobId: string;
  state: 'running' | 'done' | 'cancelled' | 'expired';
  shards: number;
  settled: number;
  escrow: number;
  spent: number;
  fees: number;
  refunded: number;
}

/** Frames the coordinator sends on the mesh socket. */
export type ServerFrame =
  | { type: 'challenge'; v: number; nonce: string }
  | { type: 'welcome'; peerId: string; balance: number; feeRate: number; leaseMs: number }
  | { type: 'ok'; rid: number; result?: unknown }
  | { type: 'error'; rid?: number; error: WireError }
  /** To a contributor: run this shard of this kernel. */
  | { type: 'assign'; lease: ContributorLease; kernel: Infer<typeof parseKernelSpec>; spec: Infer<typeof parseShardSpec> }
  /** To a contributor: stop working on a lease. */
  | { type: 'revoke'; leaseId: string; reason: string }
  /** To a client: a shard was leased to a contributor; send it the inputs. */
  | { type: 'assigned'; lease: Lease }
  /** To a client: a lease ended without a result (expired, peer left, rejected); the shard is queued again. */
  | { type: 'released'; leaseId: string; jobId: string; shard: number; reason: string }
  /** To a contributor: a receipt paid it. */
  | { type: 'credited'; leaseId: string; amount: number; balance: number }
  /** To a client: job progress or end. */
  | { type: 'job'; status: JobStatus }
  /** To a client: the coordinator decided a shard: its output is the run that claimed `outputHash` (when two
   * runs agreed or one was paid), verified or not; or verification of a shard was waived ('unverified'
   * without a hash: no second eligible contributor exists, so the first result will do). */
  | { type: 'verdict'; jobId: string; shard: number; state: 'verified' | 'unverified'; outputHash?: string }
  /** To a client: a contributor that claimed results for its leases has left; what it has not delivered yet
   * never will be, so stop waiting for it (reject those leases and the shards are queued again). */
  | { type: 'peer-left'; peerId: string };

/** Result of `submit`. */
export interface SubmitResult {
  jobId: string;
  escrow: number;
  status: JobStatus;
}

/** Result of `balance`. */
export interface BalanceResult {
  peerId: string;
  balance: number;
}

/** Whether a frame is a request carrying `rid`. */
export function hasRid(frame: ClientFrame): frame is Exclude<ClientFrame, { type: 'auth' }> {
  return frame.type !== 'auth';
}

/** JSON with object keys sorted, so both sides sign and verify the same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Domain-separated text signed for submits, receipts and result claims. */
export function signedText(kind: 'job' | 'receipt' | 'result', value: unknown): string {
  return `meshwork-${kind}:v1:${canonicalJson(value)}`;
}

