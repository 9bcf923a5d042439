/**
 * Request handlers of the mesh API, one per client frame type (except `auth`, which the session handles).
 * Each returns the `ok` result or throws; signed frames are verified against the session's public key.
 */
import { type ClientFrame, type ClientFrameOf, signedText } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { verifySignature } from '../../src/core/identity.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Market } from '../market/market.ts';
import { claimResult, disputeShard, payReceipt, rejectRun } from '../market/settlement.ts';

/** The authenticated peer a request comes from. */
export interface Caller {
  peerId: string;
  publicKey: string;
}

/** What handlers use. */
export interface HandlerDeps {
  market: Market;
  ledger: Ledger;
}

type Request = Exclude<ClientFrame, { type: 'auth' }>;
type Handler<T extends Request['type']> = (d: HandlerDeps, caller: Caller, f: ClientFrameOf<T>) => unknown;

async function requireSignature(caller: Caller, kind: 'job' | 'receipt' | 'result', value: unknown, signature: string): Promise<void> {
  if (!(await verifySignature(caller.publicKey, signedText(kind, value), signature))) {
    throw new MeshError('unauthorized', `Cannot accept the ${kind} as its signature does not verify with ${caller.peerId}'s key`);
  }
}

const HANDLERS: { [T in Request['type']]: Handler<T> } = {
  register: (d, c, f) => d.market.register(c.peerId, f),
  state: (d, c, f) => d.market.setState(c.peerId, f.state),
  unregister: (d, c) => ({ unregistered: d.market.unregister(c.peerId, true) }),
  submit: async (d, c, f) => {
    await requireSignature(c, 'job', f.job, f.signature);
    return await d.market.submit(c.peerId, f.job, f.signature);
  },
  result: async (d, c, f) => {
    await requireSignature(c, 'result', f.claim, f.signature);
    return claimResult(d.market, c.peerId, f.claim);
  },
  receipt: async (d, c, f) => {
    await requireSignature(c, 'receipt', f.receipt, f.signature);
    return await payReceipt(d.market, c.peerId, f.receipt, f.signature);
  },
  reject: (d, c, f) => rejectRun(d.market, c.peerId, f),
  dispute: (d, c, f) => disputeShard(d.market, c.peerId, f.jobId, f.shard),
  cancel: (d, c, f) => d.market.cancel(c.peerId, f.jobId),
  balance: async (d, c) => ({ peerId: c.peerId, balance: await d.ledger.balance(`peer:${c.peerId}`) }),
  job: (d, _c, f) => {
    const job = d.market.job(f.jobId);
    if (!job) throw new MeshError('not-found', `Cannot find job ${f.jobId}: it never existed or finished long ago`);
    return job.status();
  },
};

/** Runs the handler for a request frame. */
export function handle(d: HandlerDeps, caller: Caller, frame: Request): Promise<unknown> {
  const h = HANDLERS[frame.type] as Handler<Request['type']>;
  return Promise.resolve().then(() => h(d, caller, frame as never));
}
