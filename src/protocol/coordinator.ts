/**
 * The coordinator's mesh API: JSON text frames over the WebSocket at `/mesh`. Signalling uses the separate
 * PeerJS-protocol socket; this one carries identity, registry, market, receipts and ledger queries.
 *
 * Session: server sends `challenge`; client answers `auth` with its Ed25519 public key and a signature over
 * `authMessage(nonce, peerId)`; server replies `welcome`. Every later client frame is a request with `rid`
 * and gets exactly one `ok` or `error` with the same `rid`. Server pushes (`assign`, `assigned`, ...) have no rid.
 * Amounts are integer micro-credits (1 credit = 1_000_000).
 */
import * as v from 'valibot';
import { IdSchema, int, list, real } from './_fields.ts';
import { KernelSpecSchema, type KernelSpec, Sha256Schema, ShardSpecSchema, type ShardSpec } from './kernel.ts';
import { CapabilitiesSchema } from './capabilities.ts';
import { type PipeAssign, PipelineSchema } from './pipeline.ts';
import { parser } from './validate.ts';
import { SERVE_FRAMES, type ServeServerFrame } from './serving.ts';
import type { WireError } from './errors.ts';
import type { JobStatus, JobWait } from './job-status.ts';

export * from './job-status.ts';

/** Ids of keyed peers: `mw` + 40 hex digits of SHA-256(public key). */
export const KEYED_PEER_ID = /^mw[0-9a-f]{40}$/;
/** Any id the PeerJS protocol accepts. */
export const PEERJS_ID = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
/** Micro-credits in one credit. */
export const MICRO = 1_000_000;
/** The largest round-trip time (ms) a peer may report or a job may budget. */
export const MAX_RTT_MS = 60_000;

/** A peer id as the PeerJS protocol accepts it, at most 64 characters. */
export const PeerIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(64), v.regex(PEERJS_ID));
const b64url = (max: number) => v.pipe(v.string(), v.minLength(1), v.maxLength(max), v.regex(/^[A-Za-z0-9_-]+$/));
const rid = int(0, 2 ** 53 - 1);
const micro = int(0, 1e15);
const shardIndex = int(0, 2 ** 53 - 1);
const sig = b64url(200);

/** The text an auth signature covers. */
export function authMessage(nonce: string, peerId: string): string {
  return `meshwork-auth:v1:${nonce}:${peerId}`;
}

/** Job as submitted by a client; signed as a whole (see `canonicalJson`). */
export const JobSpecSchema = v.strictObject({
  kernel: KernelSpecSchema,
  shards: list(ShardSpecSchema, 1, 10_000),
  /** Maximum micro-credits per work unit the client pays. */
  bid: micro,
  /** Fraction of shards run twice on different peers and compared (0..1). */
  verifyFraction: real(0, 1),
  /** Tolerance for comparing replicated outputs. */
  tolerance: v.strictObject({ abs: real(0, Number.MAX_VALUE), rel: real(0, Number.MAX_VALUE) }),
  /** Milliseconds from submission after which unfinished shards are abandoned and escrow refunded. */
  deadlineMs: int(1000, 7 * 24 * 3600 * 1000),
  /** Client-chosen unique value so two identical jobs have different signatures. */
  nonce: IdSchema,
  /**
   * Latency budget: the largest round-trip time (ms) between the client and a contributor running its shards.
   * Contributors known to be farther are not chosen, and a tighter budget costs more (see core/latency.ts).
   */
  latencyMs: v.exactOptional(int(1, MAX_RTT_MS)),
  /** A stage of a pipeline (protocol/pipeline.ts): its shards' inputs may come from the stage before it. */
  pipeline: v.exactOptional(PipelineSchema),
});
/** A job as submitted. */
export type JobSpec = v.InferOutput<typeof JobSpecSchema>;
/** Validates a job as submitted. */
export const parseJobSpec = parser(JobSpecSchema);

/**
 * A `submit` frame with its shards left unchecked (still at most 10,000): a receiver that validates the
 * shards itself, a slice at a time with `parseShardSpec`, keeps a large submit from blocking it.
 */
export const SubmitHeaderSchema = v.strictObject({
  type: v.literal('submit'),
  rid: int(0, 2 ** 53 - 1),
  job: v.strictObject({ ...JobSpecSchema.entries, shards: list(v.unknown(), 1, 10_000) }),
  signature: v.pipe(v.string(), v.minLength(1), v.maxLength(200), v.regex(/^[A-Za-z0-9_-]+$/)),
});
/** Validates a submit frame but its shards. */
export const parseSubmitHeader = parser(SubmitHeaderSchema);

/** What a client signs to pay for one shard. */
export const ReceiptSchema = v.strictObject({
  jobId: IdSchema,
  shard: shardIndex,
  leaseId: IdSchema,
  contributor: PeerIdSchema,
  outputHash: Sha256Schema,
  workUnits: int(1, 1e12),
});
/** A receipt for one accepted shard. */
export type Receipt = v.InferOutput<typeof ReceiptSchema>;
/** Validates a receipt. */
export const parseReceipt = parser(ReceiptSchema);

/** What a contributor signs to claim a result. */
export const ResultClaimSchema = v.strictObject({
  jobId: IdSchema,
  shard: shardIndex,
  leaseId: IdSchema,
  outputHash: Sha256Schema,
});
/** A credit link rendezvous code: 16..64 base64url characters (at least 96 random bits). */
const linkCode = v.pipe(v.string(), v.minLength(16), v.maxLength(64), v.regex(/^[A-Za-z0-9_-]+$/));

/** How long a signed credit link may be used after it was signed, at most. */
export const LINK_TTL_MS = 15 * 60_000;

/**
 * What an identity signs to hand everything it holds to another identity of the same person: an embed's identity
 * on one site (site storage is partitioned, so each site has its own) into the visitor's app identity. `fromKey`
 * is the raw public key the `from` id derives from; each nonce moves credits once; usable until `expiresAt`.
 */
export const CreditLinkSchema = v.strictObject({
  from: v.pipe(v.string(), v.regex(KEYED_PEER_ID)),
  fromKey: b64url(100),
  to: v.pipe(v.string(), v.regex(KEYED_PEER_ID)),
  nonce: b64url(64),
  expiresAt: int(0, 2 ** 53 - 1),
});
/** A signed hand-over of one identity's credits to another (see CreditLinkSchema). */
export type CreditLink = v.InferOutput<typeof CreditLinkSchema>;

/** A contributor's claim that it produced an output. */
export type ResultClaim = v.InferOutput<typeof ResultClaimSchema>;
/** Validates a result claim. */
export const parseResultClaim = parser(ResultClaimSchema);

/**
 * Why a contributor could not finish a lease, as it reports it (`fail`). Its own local faults: its compute worker
 * crashed or hung ('worker-crashed', 'timeout'), its GPU device was lost, a cached model failed its hash
 * ('cache-corrupt'), it ran out of memory; or it cannot run the shard as given: its runtime lacks something the
 * kernel needs ('unsupported'), or the job itself is wrong (an unknown output, a wrong input shape: 'bad-input').
 * 'not-cached': a lease to answer from its result cache (`cached`) whose output it no longer keeps (evicted, or
 * found corrupt and deleted); the coordinator forgets it as a holder and places the shard again, unpaid.
 * A pipeline lease whose inputs' holder did not deliver them reports 'source-lost' (the coordinator computes the
 * upstream shard again). None of these is a wrong result: reputation is for results that disagree with verification.
 */
export const LEASE_FAILURES = ['worker-crashed', 'timeout', 'device-lost', 'cache-corrupt', 'out-of-memory', 'unsupported', 'bad-input', 'not-cached', 'source-lost'] as const;
/** A class of lease failure (see LEASE_FAILURES). */
export type LeaseFailure = typeof LEASE_FAILURES[number];
/** The local faults among LEASE_FAILURES: the contributor may run the shard once it recovered. */
export const LOCAL_FAULTS: readonly LeaseFailure[] = ['worker-crashed', 'timeout', 'device-lost', 'cache-corrupt', 'out-of-memory'];

/** Output hashes one `evicted` frame may name. */
export const MAX_EVICTED = 256;

const request = <const T extends string, E extends v.ObjectEntries>(type: T, entries: E) =>
  v.strictObject({ type: v.literal(type), rid, ...entries });

/**
 * Every frame a peer may send to the coordinator's mesh socket, tagged by `type`. v.variant tries the options
 * in order (each miss costs ~90 ns), so after the session frames come the per-shard ones, hottest first.
 */
export const ClientFrameSchema = v.variant('type', [
  v.strictObject({
    type: v.literal('auth'),
    v: int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    peerId: PeerIdSchema,
    publicKey: b64url(100),
    signature: sig,
  }),
  request('register', { caps: CapabilitiesSchema, askPrice: micro, maxConcurrent: int(1, 64) }),
  request('result', { claim: ResultClaimSchema, signature: sig }),
  request('receipt', { receipt: ReceiptSchema, signature: sig }),
  request('submit', { job: JobSpecSchema, signature: sig }),
  request('state', { state: v.picklist(['active', 'paused']) }),
  request('unregister', {}),
  request('reject', {
    jobId: IdSchema,
    shard: shardIndex,
    leaseId: IdSchema,
    reason: v.picklist(['hash-mismatch', 'verification-failed', 'transfer-failed', 'bad-output']),
  }),
  /** From a contributor: it could not finish its lease (the lease is released; see LEASE_FAILURES). */
  request('fail', {
    jobId: IdSchema,
    shard: shardIndex,
    leaseId: IdSchema,
    reason: v.picklist(LEASE_FAILURES),
    message: v.exactOptional(v.pipe(v.string(), v.maxLength(500))),
  }),
  request('dispute', { jobId: IdSchema, shard: shardIndex }),
  request('cancel', { jobId: IdSchema }),
  request('balance', {}),
  /** A job's status (its owner only); `detail` adds the shard-by-shard view. */
  request('job', { jobId: IdSchema, detail: v.exactOptional(v.boolean()) }),
  /** Moves the credits of the identity that signed `link` to its `to`; this session is one of the two. `code`: the
   * rendezvous code it answers (see `link-target`), then forgotten. */
  request('link', { link: CreditLinkSchema, signature: sig, code: v.exactOptional(linkCode) }),
  /** The app side of a credit link: this identity receives what the embed holding `code` hands over. */
  request('link-target', { code: linkCode }),
  /** The embed side: which identity named itself for `code` (null while none has). */
  request('link-lookup', { code: linkCode }),
  /** From a contributor: it no longer keeps these verified outputs (evicted from its result store, or corrupt), so
   * the coordinator stops naming it as their holder. */
  request('evicted', { outputs: list(Sha256Schema, 1, MAX_EVICTED) }),
  /** A measured round-trip time (ms) to another peer this one connected to (both sides report; see market/rtt.ts). */
  request('rtt', { peer: v.pipe(v.string(), v.regex(KEYED_PEER_ID)), ms: real(0, MAX_RTT_MS) }),
  /** Continuous serving (serving.ts). */
  ...SERVE_FRAMES,
]);
/** A frame from peer to coordinator. */
export type ClientFrame = v.InferOutput<typeof ClientFrameSchema>;
/** A frame from peer to coordinator, by type. */
export type ClientFrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;
/** Validates a frame from peer to coordinator. */
export const parseClientFrame = parser(ClientFrameSchema);

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
  /** The shard needs two agreeing runs: a second run follows, so the client waits for it before paying.
   * Only the job's client sees it. */
  verified?: boolean;
  /** The contributor answers from its result cache: the output whose hash two agreeing runs verified before,
   * paid at the cache rate (core/latency.ts). The client checks what arrives against this hash. */
  cached?: string;
}

/** A lease as its contributor sees it: whether the run is checked, or checks another, is not shown. */
export type ContributorLease = Omit<Lease, 'replica' | 'verified'>;

/**
 * The lease of an `assign` push as a contributor checks it before acting on it: the fields it uses, well formed
 * (other fields pass unchecked). `cached` names the stored output to answer with, so it must be a SHA-256.
 */
export const ContributorLeaseSchema = v.looseObject({
  leaseId: IdSchema,
  jobId: IdSchema,
  shard: shardIndex,
  client: PeerIdSchema,
  contributor: PeerIdSchema,
  price: micro,
  expiresAt: int(0, 2 ** 53 - 1),
  cached: v.exactOptional(Sha256Schema),
});
/** Validates the lease of an `assign` push (see ContributorLeaseSchema). */
export const parseContributorLease = parser(ContributorLeaseSchema);

/** Frames the coordinator sends on the mesh socket. */
export type ServerFrame =
  | { type: 'challenge'; v: number; nonce: string }
  /** `iceServers`: a TURN relay with credentials minted for this peer (about an hour), when the coordinator has one. */
  | { type: 'welcome'; peerId: string; balance: number; feeRate: number; leaseMs: number; iceServers?: RTCIceServer[] }
  | { type: 'ok'; rid: number; result?: unknown }
  | { type: 'error'; rid?: number; error: WireError }
  /** To a contributor: run this shard of this kernel. */
  | { type: 'assign'; lease: ContributorLease; kernel: KernelSpec; spec: ShardSpec; pipe?: PipeAssign }
  /** To a contributor keeping the outputs of pipeline lease `leaseId`: `peer` may pull them (its downstream lease). */
  | { type: 'serve'; leaseId: string; peer: string }
  /** To a contributor keeping the outputs of pipeline leases: the next stage has them, drop them. */
  | { type: 'forget'; leaseIds: string[] }
  /** To a contributor: stop working on a lease. */
  | { type: 'revoke'; leaseId: string; reason: string }
  /** To a client: a shard was leased to a contributor; send it the inputs. */
  | { type: 'assigned'; lease: Lease }
  /** To a client: a lease ended without a result (expired, peer left, rejected, failed); the shard is queued again.
   * `failure`: the contributor reported this fault (`fail`). */
  | { type: 'released'; leaseId: string; jobId: string; shard: number; reason: string; failure?: LeaseFailure }
  /** To a contributor: the coordinator paused it after `failures` lease failures in a row (its leases went back to
   * the queue); it takes work again after `state: 'active'`, once it recovered. */
  | { type: 'paused'; reason: string; failures: number }
  /** To a contributor: a receipt paid it. */
  | { type: 'credited'; leaseId: string; amount: number; balance: number }
  /** To a client: job progress or end. */
  | { type: 'job'; status: JobStatus }
  /** To the recipient of a credit link: credits moved here from `from`; `balance` is the new spendable balance. */
  | { type: 'linked'; from: string; earned: number; grant: number; balance: number }
  /** To a client: why the job's queued shards wait (sent when it changes, at most once a second); null once none
   * waits. */
  | { type: 'waiting'; jobId: string; wait: JobWait | null }
  /** To a client: the coordinator decided a shard: its output is the run that claimed `outputHash` (when two
   * runs agreed or one was paid), verified or not; or verification of a shard was waived ('unverified'
   * without a hash: no second eligible contributor exists, so the first result will do). */
  | { type: 'verdict'; jobId: string; shard: number; state: 'verified' | 'unverified'; outputHash?: string }
  /** To a client: a contributor that claimed results for its leases has left; what it has not delivered yet
   * never will be, so stop waiting for it (reject those leases and the shards are queued again). */
  | { type: 'peer-left'; peerId: string }
  /** Continuous serving (serving.ts). */
  | ServeServerFrame;

/** Result of `submit`. */
export interface SubmitResult {
  jobId: string;
  escrow: number;
  status: JobStatus;
}

/** Result of `link`: what moved (nothing new on a replay of a used nonce) and this identity's balance after. */
export interface LinkCreditsResult {
  moved: boolean;
  /** Earned micro-credits moved. */
  earned: number;
  /** Grant micro-credits moved (they stay grant: spendable as escrow only). */
  grant: number;
  balance: number;
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
export function signedText(kind: 'job' | 'receipt' | 'result' | 'link' | 'service' | 'serve-receipt' | 'answer', value: unknown): string {
  return `meshwork-${kind}:v1:${canonicalJson(value)}`;
}

