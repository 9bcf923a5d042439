/**
 * Peer identity: an Ed25519 key pair. The peer id is `mw` + the first 40 hex digits of SHA-256 of the raw
 * 32-byte public key, so an id can be checked against a presented key by anyone.
 */
import { fromBase64Url, toBase64Url } from './encoding.ts';
import { sha256Hex } from './hash.ts';

/** Peer id derived from a raw Ed25519 public key. */
export async function peerIdFromPublicKey(raw: Uint8Array): Promise<string> {
  if (raw.byteLength !== 32) {
    throw new RangeError(`Cannot derive a peer id as an Ed25519 public key has 32 bytes: current length is ${raw.byteLength}`);
  }
  return 'mw' + (await sha256Hex(raw)).slice(0, 40);
}

/** Verifies an Ed25519 signature (base64url) over UTF-8 text by a raw public key (base64url). */
export async function verifySignature(publicKeyB64: string, text: string, signatureB64: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('raw', fromBase64Url(publicKeyB64), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, fromBase64Url(signatureB64), new TextEncoder().encode(text));
  } catch {
    return false;
  }
}

/** A signing identity: peer id, raw public key (base64url) and a signer for UTF-8 text. */
export interface Identity {
  peerId: string;
  publicKey: string;
  sign(text: string): Promise<string>;
}

/** Wraps a CryptoKeyPair (the private key may be non-extractable) as an Identity. */
export async function identityFromKeyPair(pair: CryptoKeyPair): Promise<Identity> {
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  return {
    peerId: await peerIdFromPublicKey(raw),
    publicKey: toBase64Url(raw),
    async sign(text: string) {
      const sig = await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, new TextEncoder().encode(text));
      return toBase64Url(new Uint8Array(sig));
    },
  };
}

/** Generates a fresh Ed25519 key pair with a non-extractable private key. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
}

/**
 * The PeerJS `token` a keyed peer presents to signalling: `publicKey.nonce.signature`, where the nonce is one
 * the coordinator issued for this id (`GET {peerjs path}{key}/challenge?id=`) and the signature covers
 * `signallingMessage(peerId, nonce)`. The coordinator accepts each nonce once, so a token is worth nothing
 * after it was used.
 */
export async function signallingToken(identity: Identity, nonce: string): Promise<string> {
  return `${identity.publicKey}.${nonce}.${await identity.sign(signallingMessage(identity.peerId, nonce))}`;
}

/** Text signed in a signalling token. */
export function signallingMessage(peerId: string, nonce: string): string {
  return `meshwork-signal:v2:${peerId}:${nonce}`;
}
