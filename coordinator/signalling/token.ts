/**
 * Proof of key for keyed PeerJS ids. A peer whose id looks like `mw` + 40 hex digits must present the token
 * `publicKey.timestamp.signature` (src/core/identity.ts `signallingToken`): the key must derive the id, the
 * timestamp must be recent, and the signature must cover `signallingMessage(id, timestamp)`. Without this,
 * anyone could register another peer's id and receive its offers.
 */
import { KEYED_PEER_ID } from '../../src/protocol/coordinator.ts';
import { peerIdFromPublicKey, signallingMessage, verifySignature } from '../../src/core/identity.ts';
import { fromBase64Url } from '../../src/core/encoding.ts';

/** How far a token's timestamp may be from the server's clock. */
export const TOKEN_WINDOW_MS = 10 * 60 * 1000;

/** Whether an id claims to be keyed (and so needs a proof). */
export function isKeyedId(id: string): boolean {
  return KEYED_PEER_ID.test(id);
}

/** Checks a keyed id's token; returns null when valid, else the reason it is not. */
export async function checkSignallingToken(id: string, token: string, now = Date.now()): Promise<string | null> {
  const parts = token.split('.');
  if (parts.length !== 3) return `Cannot accept keyed id ${id} as its token must be publicKey.timestamp.signature`;
  const [publicKey, timestamp, signature] = parts as [string, string, string];
  let raw: Uint8Array;
  try {
    raw = fromBase64Url(publicKey);
  } catch {
    return `Cannot accept keyed id ${id} as the token's public key is not base64url`;
  }
  if (raw.byteLength !== 32) return `Cannot accept keyed id ${id} as the token's public key must have 32 bytes: current length is ${raw.byteLength}`;
  if ((await peerIdFromPublicKey(raw)) !== id) return `Cannot accept keyed id ${id} as the token's public key derives another id`;
  const ts = Number(timestamp);
  if (!/^\d{1,16}$/.test(timestamp) || Math.abs(now - ts) > TOKEN_WINDOW_MS) {
    return `Cannot accept keyed id ${id} as the token's timestamp is outside ±10 minutes: current value is ${timestamp.slice(0, 20)}`;
  }
  if (!(await verifySignature(publicKey, signallingMessage(id, timestamp), signature))) {
    return `Cannot accept keyed id ${id} as the token's signature does not verify`;
  }
  return null;
}
