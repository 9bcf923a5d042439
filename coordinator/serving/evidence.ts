/**
 * Checking what a spot-check dispute brings: answers signed by the replicas themselves. A payer cannot forge
 * one (it holds no replica's key), so a dispute needs two replicas that really committed to different outputs
 * for one input, and an arbitration needs the arbiter's own signed answer to that same input. The verdict goes
 * by exact hash: the replica whose output hash the arbiter's equals wins; with no exact agreement nobody is
 * penalised (the payer's tolerance check is its word alone).
 */
import { fromBase64Url } from '../../src/core/encoding.ts';
import { peerIdFromPublicKey, verifySignature } from '../../src/core/identity.ts';
import { signedText } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { ServeLease, SignedAnswer } from '../../src/protocol/serving.ts';

/** Throws 'unauthorized' unless `answer` was signed by the contributor of `lease`, for `lease`, in this service. */
export async function checkAnswer(answer: SignedAnswer, lease: ServeLease): Promise<void> {
  const { claim } = answer;
  if (claim.serviceId !== lease.serviceId || claim.leaseId !== lease.leaseId) {
    throw new MeshError('invalid-message', `Cannot use an answer of lease ${claim.leaseId} (service ${claim.serviceId}) as one of lease ${lease.leaseId}`);
  }
  let signer: string;
  try {
    signer = await peerIdFromPublicKey(fromBase64Url(answer.key));
  } catch {
    throw new MeshError('invalid-message', `Cannot read the key of an answer of lease ${lease.leaseId}: it is not a raw Ed25519 key`);
  }
  if (signer !== lease.contributor) {
    throw new MeshError('unauthorized', `Cannot use an answer of lease ${lease.leaseId} signed by ${signer}: its contributor is ${lease.contributor}`);
  }
  if (!(await verifySignature(answer.key, signedText('answer', claim), answer.signature))) {
    throw new MeshError('unauthorized', `Cannot use an answer of lease ${lease.leaseId} as its signature does not verify`);
  }
}

/** Which of two disputed answers the arbiter's agrees with exactly: 0, 1, or undefined (neither, or both). */
export function arbitrate(answers: readonly [SignedAnswer, SignedAnswer], arbiter: SignedAnswer): 0 | 1 | undefined {
  const [a, b] = answers.map((x) => x.claim.outputHash === arbiter.claim.outputHash);
  if (a && !b) return 0;
  if (b && !a) return 1;
  return undefined;
}
