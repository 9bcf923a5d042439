/**
 * Output hashes of the simulation: stand-ins for the SHA-256 digests contributors claim (64 lower-case hex
 * digits, as the protocol's Sha256Schema wants). The correct output of a shard is a pure function of its
 * input hash, so an honest contributor and the report agree on it without running anything.
 */

/** 64 hex digits derived from `label`: eight FNV-1a lanes with distinct seeds (not cryptographic; need not be). */
export function digest(label: string): string {
  let out = '';
  for (let lane = 0; lane < 8; lane++) {
    let h = (0x811c9dc5 ^ Math.imul(lane + 1, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}

/** The correct output hash of the shard whose input hash is `inputHash`. */
export function honestHash(inputHash: string): string {
  return digest(`output:${inputHash}`);
}

/** The wrong hash every colluder (and every sybil) claims for a shard: derived from the shard, so they agree. */
export function colludedHash(inputHash: string): string {
  return digest(`collude:${inputHash}`);
}

/** A fresh random wrong hash. */
export function randomHash(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
}
