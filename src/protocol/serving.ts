/**
 * Continuous serving: a long-lived inference endpoint for one ONNX model. Its opener signs a ServiceSpec and
 * holds `budget` in escrow; the coordinator places `replicas` serving leases on contributors that keep the
 * model loaded, renews each while its contributor reports in (`serve-renew`), and places a new one when a
 * contributor leaves or stops renewing. Requests never pass through the coordinator: a payer sends `infer`
 * plus an inputs blob over its peer link to a replica, which batches requests continuously and answers with
 * an outputs blob and a signed `answer` (or `busy` with a retry-after). A service may be `shared`: another
 * client joins it with an escrow of its own (`serve-join`) and pays for what it asks; whoever asks pays.
 *
 * Pay: each payer signs cumulative receipts per replica lease (requests and work units answered so far);
 * the coordinator pays the increase since the last receipt once (the receipt id carries the cumulative
 * count). A replica stops answering a payer whose unreceipted work passes a credit window, so neither side
 * can take more than that window from the other. Spot checks: the SDK sends a fraction of requests to two
 * replicas; answers out of tolerance go to the coordinator (`serve-dispute`) with both contributors'
 * signatures, and a third replica's signed answer (`serve-arbitrate`) decides by hash: the one it agrees with
 * wins, the other loses its lease; with no exact agreement nobody is penalised.
 */
import * as v from 'valibot';
import { IdSchema, int, list, text } from './_fields.ts';
import { OnnxKernelSchema, Sha256Schema } from './kernel.ts';
import { TensorSpecSchema } from './tensor.ts';
import { parser } from './validate.ts';

const micro = int(0, 1e15);
const b64url = (min: number, max: number) => v.pipe(v.string(), v.minLength(min), v.maxLength(max), v.regex(/^[A-Za-z0-9_-]+$/));
const keyedPeer = v.pipe(v.string(), v.regex(/^mw[0-9a-f]{40}$/));

/** Replicas a service may ask for. */
export const MAX_REPLICAS = 8;
/** Largest batch (items) a service may ask its replicas to run at once. */
export const MAX_SERVE_BATCH = 256;
/** Longest a replica may hold a short queue waiting for more requests (ms). */
export const MAX_SERVE_WAIT_MS = 1000;
/** Largest request (inputs bytes) a replica accepts. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/** A service as its opener signs it (signedText('service', spec)). */
export const ServiceSpecSchema = v.strictObject({
  kernel: OnnxKernelSchema,
  /** Largest batch a replica runs, in items (1: continuous batching off). */
  maxBatch: int(1, MAX_SERVE_BATCH),
  /** Longest a replica waits for more requests when its queue is short (ms). */
  maxWaitMs: int(0, MAX_SERVE_WAIT_MS),
  replicas: int(1, MAX_REPLICAS),
  /** Most micro-credits per work unit the opener pays. */
  bid: micro,
  /** Micro-credits the opener holds in escrow for the service's requests. */
  budget: int(1, 1e15),
  /** Other clients may join and ask, each paying from an escrow of its own. */
  shared: v.boolean(),
  /** Milliseconds after which the service closes by itself. */
  ttlMs: int(10_000, 7 * 24 * 3600 * 1000),
  nonce: IdSchema,
});
/** A service as signed by its opener. */
export type ServiceSpec = v.InferOutput<typeof ServiceSpecSchema>;
/** Validates a service spec. */
export const parseServiceSpec = parser(ServiceSpecSchema);

/** What a payer signs to pay one replica: cumulative requests and work units it answered for this payer. */
export const ServeReceiptSchema = v.strictObject({
  serviceId: IdSchema,
  leaseId: IdSchema,
  contributor: keyedPeer,
  requests: int(1, 1e12),
  workUnits: int(1, 1e15),
});
/** A cumulative receipt for one replica. */
export type ServeReceipt = v.InferOutput<typeof ServeReceiptSchema>;

/** What a replica signs for each answer (signedText('answer', ...)): the evidence a spot-check dispute carries. */
export const AnswerClaimSchema = v.strictObject({
  serviceId: IdSchema,
  leaseId: IdSchema,
  req: IdSchema,
  inputHash: Sha256Schema,
  outputHash: Sha256Schema,
});
/** An answer's signed fields. */
export type AnswerClaim = v.InferOutput<typeof AnswerClaimSchema>;

/** An answer claim with the replica's raw public key and signature. */
export const SignedAnswerSchema = v.strictObject({ claim: AnswerClaimSchema, key: b64url(43, 43), signature: b64url(86, 86) });
/** An answer claim with its proof. */
export type SignedAnswer = v.InferOutput<typeof SignedAnswerSchema>;

const request = <const T extends string, E extends v.ObjectEntries>(type: T, entries: E) =>
  v.strictObject({ type: v.literal(type), rid: int(0, 2 ** 53 - 1), ...entries });

/** Serving frames a peer sends to the coordinator (part of ClientFrameSchema). */
export const SERVE_FRAMES = [
  /** A client opens a service (signature over signedText('service', service)). */
  request('serve-open', { service: ServiceSpecSchema, signature: b64url(1, 200) }),
  /** A client joins a shared service, holding `budget` of its own. */
  request('serve-join', { serviceId: IdSchema, budget: int(1, 1e15) }),
  /** A payer leaves (a joiner) or closes (the opener) a service; what is left of its escrow is refunded. */
  request('serve-close', { serviceId: IdSchema }),
  /** A payer's view of a service. */
  request('serve-status', { serviceId: IdSchema }),
  request('serve-receipt', { receipt: ServeReceiptSchema, signature: b64url(1, 200) }),
  /** A replica's contributor: it still serves (renews the lease); what its queue holds now. */
  request('serve-renew', { leaseId: IdSchema, queued: int(0, 1e9), served: int(0, 1e12) }),
  /** A replica's contributor gives the lease up (another replica is placed). */
  request('serve-leave', { leaseId: IdSchema, reason: text(0, 200) }),
  /** A payer: two replicas answered one input with outputs out of tolerance. */
  request('serve-dispute', { serviceId: IdSchema, answers: v.strictTuple([SignedAnswerSchema, SignedAnswerSchema]) }),
  /** A payer: the arbiter's signed answer to the disputed input. */
  request('serve-arbitrate', { serviceId: IdSchema, disputeId: IdSchema, answer: SignedAnswerSchema }),
] as const;

/** A serving lease: `contributor` keeps the service's model loaded and answers its payers until `expiresAt`. */
export interface ServeLease {
  leaseId: string;
  serviceId: string;
  /** The opener. */
  client: string;
  contributor: string;
  /** Micro-credits per work unit. */
  price: number;
  expiresAt: number;
  /** 'arbiter': placed for one dispute, revoked after it. */
  role: 'replica' | 'arbiter';
}

/** A service as one of its payers sees it. */
export interface ServiceStatus {
  serviceId: string;
  state: 'open' | 'closed';
  owner: string;
  shared: boolean;
  maxBatch: number;
  replicas: ServeLease[];
  /** This payer's escrow: held, paid to replicas, fees, refunded (micro-credits). */
  escrow: number;
  spent: number;
  fees: number;
  refunded: number;
  /** Work units this payer paid for. */
  workUnits: number;
  /** Replicas placed over the service's life (re-placements included). */
  placements: number;
  reason?: string;
}

/** Result of `serve-open` and `serve-join`. */
export interface ServeOpenResult {
  serviceId: string;
  status: ServiceStatus;
}

/** Pushes of the coordinator about services. */
export type ServeServerFrame =
  /** To a contributor: serve this service until the lease expires (renew it); `payers` may send requests. */
  | { type: 'serve-assign'; lease: ServeLease; kernel: v.InferOutput<typeof OnnxKernelSchema>; maxBatch: number; maxWaitMs: number; payers: string[]; renewMs: number }
  /** To a replica's contributor: `payer` joined the service and may send requests. */
  | { type: 'serve-payer'; leaseId: string; payer: string }
  /** To a replica's contributor: stop serving. */
  | { type: 'serve-revoke'; leaseId: string; reason: string }
  /** To a replica's contributor: a receipt of `payer` paid it, up to `workUnits` in all. */
  | { type: 'serve-credited'; leaseId: string; payer: string; workUnits: number; amount: number; balance: number }
  /** To a service's payers: its replicas now (after a placement, a re-placement or a removal). */
  | { type: 'serve-replicas'; serviceId: string; replicas: ServeLease[] }
  /** To a service's payers: it closed (its owner closed it, its time ran out, or no replica can be placed). */
  | { type: 'serve-closed'; serviceId: string; status: ServiceStatus };

/** Peer frames of serving (part of PeerFrameSchema). `leaseId` is the request key the inbox routes by. */
export const SERVE_PEER_FRAMES = [
  /** Payer to replica: a request; its inputs follow as an `inputs` blob under the same key `leaseId`. */
  v.strictObject({ type: v.literal('infer'), leaseId: IdSchema, lease: IdSchema, inputs: list(TensorSpecSchema, 1, 16) }),
  /** Replica to payer: the outputs blob went first; this names them and carries the signed answer. */
  v.strictObject({
    type: v.literal('answer'),
    leaseId: IdSchema,
    outputs: list(TensorSpecSchema, 0, 64),
    answer: SignedAnswerSchema,
    /** Items in the batch this request ran in, and the replica's queue after it (for the caller's stats). */
    batch: int(1, MAX_SERVE_BATCH),
    queued: int(0, 1e9),
  }),
  /** Replica to payer: not queued; try another replica, or this one after `retryAfterMs`. */
  v.strictObject({
    type: v.literal('busy'),
    leaseId: IdSchema,
    reason: v.picklist(['queue-full', 'client-queue-full', 'unpaid', 'closed']),
    retryAfterMs: int(0, 60_000),
  }),
] as const;

/** Validates an answer claim. */
export const parseAnswerClaim = parser(AnswerClaimSchema);
