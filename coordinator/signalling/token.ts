/**
 * Proof of key for keyed PeerJS ids, one use per proof. A peer whose id looks like `mw` + 40 hex digits first
 * asks `GET {path}{key}/challenge?id=<id>` for a nonce, then connects with the token
 * `publicKey.nonce.signature` (src/core/identity.ts `signallingToken`): the key must derive the id, the
 * signature must cover `signallingMessage(id, nonce)`, and the nonce must be one this process issued for that
 * id within NONCE_TTL_MS and not used before. A token read off a victim's URL is therefore worth nothing: its
 * nonce was spent when the victim connected.
 *
 * Nonces are stateless until used: `expiry.random.mac` with an HMAC over the id and expiry under a key that
 * lives in this process, so asking for challenges costs the server nothing to remember. Spent nonces are
 * remembered until they expire (bounded by the connection rate).
 */
import { KEYED_PEER_ID } from '../../src/protocol/coordinator.ts';
import { peerIdFromPublicKey, signallingMessage, verifySignature } from '../../src/core/identity.ts';
import { fromBase64Url, toBase64Url } from '../../src/core/encoding.ts';

/** How long an issued nonce may be used. */
export const NONCE_TTL_MS = 60_000;
/** Spent nonces remembered at most (older ones have expired by then at any sane connection rate). */
const MAX_SPENT = 200_000;

/** Whether an id claims to be keyed (and so needs a proof). */
export function isKeyedId(id: string): boolean {
  return KEYED_PEER_ID.test(id);
}

/** Issues and checks one-time signalling nonces. */
export class SignallingNonces {
  readonly #key: Promise<CryptoKey>;
  readonly #spent = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {
    this.#key = crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  /** A fresh nonce for `id`. */
  async issue(id: string): Promise<string> {
    const expiry = String(this.now() + NONCE_TTL_MS);
    const random = toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
    return `${expiry}.${random}.${await this.#mac(id, expiry, random)}`;
  }

  /** Checks a keyed id's token and spends its nonce; returns null when valid, else the reason it is not. */
  async check(id: string, token: string): Promise<string | null> {
    const parts = token.split('.');
    if (parts.length !== 5) return `Cannot accept keyed id ${id} as its token must be publicKey.nonce.signature over a nonce from challenge`;
    const [publicKey, expiry, random, mac, signature] = parts as [string, string, string, string, string];
    const nonce = `${expiry}.${random}.${mac}`;
    let raw: Uint8Array;
    try {
      raw = fromBase64Url(publicKey);
    } catch {
      return `Cannot accept keyed id ${id} as the token's public key is not base64url`;
    }
    if (raw.byteLength !== 32) return `Cannot accept keyed id ${id} as the token's public key must have 32 bytes: current length is ${raw.byteLength}`;
    if ((await peerIdFromPublicKey(raw)) !== id) return `Cannot accept keyed id ${id} as the token's public key derives another id`;
    const until = Number(expiry);
    if (!/^\d{1,16}$/.test(expiry) || until < this.now() || until > this.now() + NONCE_TTL_MS) {
      return `Cannot accept keyed id ${id} as the token's nonce expired or was not issued here: ask for a new challenge`;
    }
    if (mac !== (await this.#mac(id, expiry, random))) return `Cannot accept keyed id ${id} as the token's nonce was not issued here for this id`;
    if (this.#spent.has(nonce)) return `Cannot accept keyed id ${id} as the token's nonce was used already: ask for a new challenge`;
    if (!(await verifySignature(publicKey, signallingMessage(id, nonce), signature))) {
      return `Cannot accept keyed id ${id} as the token's signature does not verify`;
    }
    if (this.#spent.has(nonce)) return `Cannot accept keyed id ${id} as the token's nonce was used already: ask for a new challenge`;
    this.#spend(nonce, until);
    return null;
  }

  #spend(nonce: string, until: number): void {
    const now = this.now();
    for (const [n, t] of this.#spent) {
      if (t >= now && this.#spent.size < MAX_SPENT) break;
      this.#spent.delete(n);
    }
    this.#spent.set(nonce, until);
  }

  async #mac(id: string, expiry: string, random: string): Promise<string> {
    const sig = await crypto.subtle.sign('HMAC', await this.#key, new TextEncoder().encode(`${id}.${expiry}.${random}`));
    return toBase64Url(new Uint8Array(sig).subarray(0, 18));
  }
}
