import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../core/hash.ts';
import { MeshError } from '../protocol/errors.ts';
import { MAX_BLOB_BYTES } from '../protocol/peer.ts';
import { type BlobFrame, BlobReceiver, chunkPayloads, verifyBlob } from './transfer.ts';

const frame = (tid: number, bytes: number, sha256 = '0'.repeat(64)): BlobFrame => ({ type: 'blob', leaseId: 'L1', tid, what: 'inputs', bytes, sha256 });

describe('BlobReceiver', () => {
  it('reassembles chunks in order into the announced bytes', () => {
    const rx = new BlobReceiver();
    const data = Uint8Array.from({ length: 10 }, (_, i) => i);
    assert.equal(rx.announce(frame(1, 10), true), undefined);
    const parts = [...chunkPayloads(data, 4)];
    assert.equal(parts.length, 3);
    assert.equal(rx.chunk(1, 0, parts[0]!), undefined);
    assert.equal(rx.chunk(1, 1, parts[1]!), undefined);
    const done = rx.chunk(1, 2, parts[2]!);
    assert.deepEqual(new Uint8Array(done!.bytes!), data);
    assert.equal(rx.active, 0);
  });

  it('completes an empty blob at announcement', () => {
    const done = new BlobReceiver().announce(frame(3, 0), true);
    assert.equal(done?.bytes?.byteLength, 0);
  });

  it('refuses more bytes than announced', () => {
    const rx = new BlobReceiver();
    rx.announce(frame(1, 4), true);
    assert.throws(() => rx.chunk(1, 0, new Uint8Array(5)), (e: unknown) => e instanceof MeshError && e.code === 'too-large' && /announced 4 bytes: current total would be 5/.test(e.message));
  });

  it('refuses chunks out of order or for an unannounced transfer', () => {
    const rx = new BlobReceiver();
    rx.announce(frame(1, 8), true);
    assert.throws(() => rx.chunk(1, 1, new Uint8Array(4)), /expected 0, current value is 1/);
    assert.throws(() => rx.chunk(9, 0, new Uint8Array(4)), /transfer 9 was not announced/);
  });

  it('refuses a reused transfer id, too many transfers and oversized blobs', () => {
    const rx = new BlobReceiver({ maxActive: 1 });
    rx.announce(frame(1, 8), true);
    assert.throws(() => rx.announce(frame(1, 8), true), /already in use/);
    assert.throws(() => rx.announce(frame(2, 8), true), (e: unknown) => e instanceof MeshError && e.code === 'rate-limited');
    assert.throws(() => new BlobReceiver().announce(frame(1, MAX_BLOB_BYTES + 1), true), (e: unknown) => e instanceof MeshError && e.code === 'too-large');
  });

  it('consumes but drops the bytes of an unwanted or discarded transfer', () => {
    const rx = new BlobReceiver();
    rx.announce(frame(1, 4), false);
    assert.equal(rx.chunk(1, 0, new Uint8Array(4))!.bytes, undefined);
    rx.announce(frame(2, 8), true);
    rx.chunk(2, 0, new Uint8Array(4));
    rx.discard('L1');
    assert.equal(rx.chunk(2, 1, new Uint8Array(4))!.bytes, undefined);
  });
});

describe('verifyBlob()', () => {
  it('passes bytes with the announced hash and rejects others as hash-mismatch', async () => {
    const bytes = new Uint8Array([1, 2, 3]).buffer;
    const good = frame(1, 3, await sha256Hex(bytes));
    assert.deepEqual(await verifyBlob(good, bytes), { bytes, sha256: good.sha256 });
    await assert.rejects(verifyBlob({ ...good, sha256: 'f'.repeat(64) }, bytes), (e: unknown) => e instanceof MeshError && e.code === 'hash-mismatch');
  });
});
