import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../core/hash.ts';
import { rng } from '../core/testing/prng.ts';
import { MeshError } from '../protocol/errors.ts';
import { COMPRESS_MIN_BYTES, decodeBlob, deflateRaw, encodeBlob, inflateRaw } from './blob-codec.ts';
import type { BlobFrame } from './transfer.ts';

/** An image-like f32 tensor: smooth values with long runs, as detector inputs are. */
function imageLike(floats: number): Uint8Array {
  const f = new Float32Array(floats);
  for (let i = 0; i < floats; i++) f[i] = Math.floor(i / 97) % 7 === 0 ? 0.5 : -1;
  return new Uint8Array(f.buffer);
}

function randomBytes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  return Uint8Array.from({ length: n }, () => next(256));
}

async function frameFor(raw: Uint8Array, wire: Uint8Array, encoding?: 'deflate-raw'): Promise<BlobFrame> {
  const base: BlobFrame = { type: 'blob', leaseId: 'L1', tid: 1, what: 'inputs', bytes: raw.byteLength, sha256: await sha256Hex(raw) };
  return encoding ? { ...base, encoding, wireBytes: wire.byteLength } : base;
}

const isMesh = (code: string) => (e: unknown) => e instanceof MeshError && e.code === code;

describe('blob codec', () => {
  it('compresses an image-like blob and decodes it back to the same verified bytes', async () => {
    const raw = imageLike(300_000);
    const { wire, encoding } = await encodeBlob(raw);
    assert.equal(encoding, 'deflate-raw');
    assert.ok(wire.byteLength < raw.byteLength / 20, `wire ${wire.byteLength} of ${raw.byteLength}`);
    const blob = await decodeBlob(await frameFor(raw, wire, encoding), wire.slice().buffer);
    assert.deepEqual(new Uint8Array(blob.bytes), raw);
    assert.equal(blob.sha256, await sha256Hex(raw));
  });

  it('sends incompressible and small blobs raw, without copying', async () => {
    const random = randomBytes(COMPRESS_MIN_BYTES + 1000, 7);
    const sent = await encodeBlob(random);
    assert.equal(sent.encoding, undefined);
    assert.equal(sent.wire, random);
    const small = imageLike(1000);
    const smallSent = await encodeBlob(small);
    assert.deepEqual([smallSent.encoding, smallSent.wire], [undefined, small]);
  });

  it('refuses a bomb: small wire data inflating beyond the announced size', async () => {
    const huge = new Uint8Array(64 * 1024 * 1024);
    const bomb = await deflateRaw(huge);
    assert.ok(bomb.byteLength < 100_000);
    await assert.rejects(inflateRaw(bomb, 1024 * 1024), isMesh('too-large'));
    const frame: BlobFrame = { type: 'blob', leaseId: 'L1', tid: 1, what: 'outputs', bytes: 1000, sha256: '0'.repeat(64), encoding: 'deflate-raw', wireBytes: bomb.byteLength };
    await assert.rejects(decodeBlob(frame, bomb.slice().buffer), isMesh('too-large'));
  });

  it('refuses output shorter than announced and corrupt wire data', async () => {
    const raw = imageLike(100_000);
    const wire = await deflateRaw(raw);
    await assert.rejects(inflateRaw(wire, raw.byteLength + 4), isMesh('transfer-failed'));
    await assert.rejects(inflateRaw(randomBytes(5000, 11), raw.byteLength), isMesh('transfer-failed'));
  });

  it('refuses a compressed blob whose inflated bytes do not hash to the announced SHA-256', async () => {
    const raw = imageLike(300_000);
    const { wire, encoding } = await encodeBlob(raw);
    const other = raw.slice();
    other[12345] = other[12345]! ^ 1;
    const frame = await frameFor(other, wire, encoding);
    await assert.rejects(decodeBlob(frame, wire.slice().buffer), isMesh('hash-mismatch'));
  });
});
