/**
 * One request to one replica over the peer link to its contributor: `infer` and the inputs blob out; back an
 * outputs blob (its hash checked on arrival) and a signed `answer`, or `busy` with a retry-after, or `fail`
 * (which rejects with the contributor's error). The answer must name this request, this lease, the hash of
 * these inputs and the hash of the outputs that arrived: a mismatch rejects ('hash-mismatch').
 */
import { toBase64Url } from '../../core/encoding.ts';
import { unpackTensors } from '../../core/sharding.ts';
import type { PeerNetwork } from '../../mesh/peer-network.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { ServeLease, SignedAnswer } from '../../protocol/serving.ts';
import type { TensorData, TensorSpec } from '../../protocol/tensor.ts';
import { sendInTurn } from './link-sends.ts';

/** A request ready to send (to any replica, as often as needed). */
export interface PreparedRequest {
  specs: TensorSpec[];
  bytes: Uint8Array;
  inputHash: string;
  items: number;
}

/** What one exchange ended with. */
export type Exchange =
  | { kind: 'answer'; outputs: TensorData[]; answer: SignedAnswer; batch: number; queued: number }
  | { kind: 'busy'; reason: string; retryAfterMs: number };

let counter = 0;
const prefix = toBase64Url(crypto.getRandomValues(new Uint8Array(6)));

/** Sends `req` to `lease`'s contributor and waits up to `timeoutMs` for its answer or refusal. */
export async function exchange(network: PeerNetwork, lease: ServeLease, req: PreparedRequest, timeoutMs: number): Promise<Exchange> {
  const link = await network.link(lease.contributor);
  const key = `q${prefix}${(++counter).toString(36)}`;
  const inbox = link.lease(key);
  try {
    await sendInTurn(link, async () => {
      link.sendControl({ type: 'infer', leaseId: key, lease: lease.leaseId, inputs: req.specs });
      await link.sendBlob(key, 'inputs', req.bytes, { sha256: req.inputHash });
    });
    const frame = await inbox.nextFrameOf(['answer', 'busy'], timeoutMs);
    if (frame.type === 'busy') return { kind: 'busy', reason: frame.reason, retryAfterMs: frame.retryAfterMs };
    const blob = await inbox.nextBlob('outputs', timeoutMs);
    const { claim } = frame.answer;
    if (claim.req !== key || claim.leaseId !== lease.leaseId || claim.serviceId !== lease.serviceId || claim.inputHash !== req.inputHash || claim.outputHash !== blob.sha256) {
      throw new MeshError('hash-mismatch', `Cannot accept the answer of lease ${lease.leaseId} as it names another request, input or output: ${JSON.stringify(claim)}`);
    }
    return { kind: 'answer', outputs: unpackTensors(blob.bytes, frame.outputs), answer: frame.answer, batch: frame.batch, queued: frame.queued };
  } finally {
    link.endLease(key);
  }
}
