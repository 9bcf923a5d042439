import { toHex } from './encoding.ts';

/** Lower-case hex SHA-256 of the given bytes (one buffer or several, hashed as if concatenated). */
export async function sha256Hex(data: ArrayBuffer | ArrayBufferView | readonly (ArrayBuffer | ArrayBufferView)[]): Promise<string> {
  const parts = Array.isArray(data) ? data : [data as ArrayBuffer | ArrayBufferView];
  let bytes: Uint8Array<ArrayBuffer>;
  if (parts.length === 1) {
    bytes = asBytes(parts[0]!);
  } else {
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    bytes = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      bytes.set(asBytes(p), at);
      at += p.byteLength;
    }
  }
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

function asBytes(p: ArrayBuffer | ArrayBufferView): Uint8Array<ArrayBuffer> {
  if (p instanceof ArrayBuffer) return new Uint8Array(p);
  return new Uint8Array(p.buffer as ArrayBuffer, p.byteOffset, p.byteLength);
}
