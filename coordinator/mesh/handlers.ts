/**
 * Request handlers of the mesh API, one per client frame type (except `auth`, which the session handles).
 * Each returns the `ok` result or throws; signed frames are verified against the session's public key.
 */
import type { ClientFrame, ClientFrameOf, ResultClaim } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { requireSignature } from './signatures.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Market } from '../market/market.ts';
import type { ServingBook } from '../serving/index.ts';
import { SERVE_HANDLERS } from './serve-handlers.ts';
import { linkCredits } from './credit-link.ts';
import type { LinkTargets } from './link-targets.ts';

/** The authenticated peer a request comes from. */
export interface Caller {
  peerId: string;
  publicKey: string;
  /** Network key of its address (limits/network.ts). */
  network: string;
}

/** What handlers use. */
export interface HandlerDeps {
  market: Market;
  ledger: Ledger;
  /** Continuous serving (coordinator/serving). */
  serving: ServingBook;
  /** Credit link rendezvous codes (mesh/link-targets.ts). */
  linkTargets: LinkTargets;
  /** Cluster: a claim for a lease another instance's market holds goes to it (cluster/market-link.ts). */
  cluster?: {
    claim(peerId: string, claim: ResultClaim, signature: string): Promise<{ accepted: boolean; duplicate: boolean }>;
    fail(peerId: string, f: ClientFrameOf<'fail'>): Promise<{ released: boolean }>;
  };
}

type Request = Exclude<ClientFrame, { type: 'auth' }>;
/** Request frame types of continuous serving (serve-handlers.ts). */
export type ServeRequestType = Extract<Request['type'], `serve-${string}`>;
/**
 * A handler gets the frame, its size in characters (submits count against the client's byte cap) and, for a
 * submit, the canonical text of its job when the session already built it.
 */
export type Handler<T extends Request['type']> = (d: HandlerDeps, caller: Caller, f: ClientFrameOf<T>, chars: number, canonical?: string) => unknown;

const HANDLERS: { [T in Request['type']]: Handler<T> } = {
  ...SERVE_HANDLERS,
  register: (d, c, f) => d.market.register(c.peerId, f, c.network),
  state: (d, c, f) => {
    const state = d.market.setState(c.peerId, f.state);
    // A paused contributor serves nothing either: its serving leases go elsewhere (paused first, so not back to it).
    if (f.state === 'paused') d.serving.contributorGone(c.peerId, 'contributor paused', true);
    return state;
  },
  unregister: (d, c) => {
    const unregistered = d.market.unregister(c.peerId, true);
    d.serving.contributorGone(c.peerId, 'contributor unregistered', true);
    return { unregistered };
  },
  submit: async (d, c, f, chars, canonical) => {
    await requireSignature(c, 'job', f.job, f.signature, canonical);
    return await d.market.submit(c.peerId, f.job, chars, canonical);
  },
  result: async (d, c, f) => {
    await requireSignature(c, 'result', f.claim, f.signature);
    if (d.cluster && !d.market.holdsLease(f.claim.leaseId)) return await d.cluster.claim(c.peerId, f.claim, f.signature);
    return d.market.claim(c.peerId, f.claim, f.signature);
  },
  receipt: async (d, c, f) => {
    await requireSignature(c, 'receipt', f.receipt, f.signature);
    return await d.market.receipt(c.peerId, f.receipt, f.signature);
  },
  reject: (d, c, f) => d.market.reject(c.peerId, f),
  fail: (d, c, f) => (d.cluster && !d.market.holdsLease(f.leaseId) ? d.cluster.fail(c.peerId, f) : d.market.fail(c.peerId, f)),
  dispute: (d, c, f) => d.market.dispute(c.peerId, f.jobId, f.shard),
  cancel: (d, c, f) => d.market.cancel(c.peerId, f.jobId),
  balance: async (d, c) => ({ peerId: c.peerId, balance: await d.ledger.spendable(c.peerId) }),
  job: (d, c, f) => (f.detail ? d.market.detail(c.peerId, f.jobId) : d.market.status(c.peerId, f.jobId)),
  link: (d, c, f) => linkCredits({ ledger: d.ledger, targets: d.linkTargets, notify: d.market.deps.notify }, c.peerId, f),
  'link-target': (d, c, f) => d.linkTargets.claim(f.code, c.peerId),
  'link-lookup': (d, _c, f) => ({ to: d.linkTargets.lookup(f.code) ?? null }),
  evicted: (d, c, f) => d.market.evicted(c.peerId, f.outputs),
  rtt: (d, c, f) => {
    if (d.market.deps.online && !d.market.deps.online(f.peer)) {
      throw new MeshError('not-found', `Cannot record a round trip to ${f.peer} as it has no session here`);
    }
    return d.market.rtt.report(c.peerId, f.peer, f.ms);
  },
};

/** Runs the handler for a request frame. */
export function handle(d: HandlerDeps, caller: Caller, frame: ClientFrame, chars: number, canonical?: string): Promise<unknown> {
  if (frame.type === 'auth') return Promise.reject(new MeshError('conflict', `Cannot authenticate again as this session is ${caller.peerId}`));
  const h = HANDLERS[frame.type] as Handler<Request['type']>;
  return Promise.resolve().then(() => h(d, caller, frame as never, chars, canonical));
}
