/** Checking that a signed frame's value was signed by the session's own key. */
import { signedText } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { verifySignature } from '../../src/core/identity.ts';
import type { Caller } from './handlers.ts';

/** Throws 'unauthorized' unless `signature` is the caller's over `value` signed as `kind`. */
export async function requireSignature(caller: Caller, kind: 'job' | 'receipt' | 'result' | 'service' | 'serve-receipt', value: unknown, signature: string, canonical?: string): Promise<void> {
  const text = canonical === undefined ? signedText(kind, value) : `meshwork-${kind}:v1:${canonical}`;
  if (!(await verifySignature(caller.publicKey, text, signature))) {
    throw new MeshError('unauthorized', `Cannot accept the ${kind} as its signature does not verify with ${caller.peerId}'s key`);
  }
}

