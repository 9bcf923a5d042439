/** Byte encodings used on the wire: lower-case hex and unpadded base64url. */

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Unpadded base64url of bytes. */
export function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * Bytes of unpadded base64url; throws TypeError on characters outside the alphabet and on non-canonical
 * text (unused trailing bits set), so every byte string has exactly one accepted encoding: a signature
 * re-encoded with other trailing bits is not a second valid signature.
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new TypeError(`Cannot decode base64url as it has invalid characters or length: current value is ${text.slice(0, 40)}`);
  }
  const bin = atob(text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (toBase64Url(out) !== text) {
    throw new TypeError(`Cannot decode base64url as it is not canonical (unused trailing bits are set): current value ends ${text.slice(-4)}`);
  }
  return out;
}
