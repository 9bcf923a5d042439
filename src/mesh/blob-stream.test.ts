import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataConnection } from 'peerjs';
import { MeshError } from '../protocol/errors.ts';
import { CHUNK_BYTES } from '../protocol/peer.ts';
import { BlobStream } from './blob-stream.ts';
import { PeerLink } from './peer-link.ts';
import { connPair } from './testing/fake-conn.ts';
import { rng } from '../core/testing/prng.ts';

function pair(): [PeerLink, PeerLink] {
  const [a, b] = connPair('mwB', 'mwA');
  return [new PeerLink(a as unknown as DataConnection), new PeerLink(b as unknown as DataConnection)];
}

describe('BlobStream over a peer link', () => {
  it('nextStream() hands out a raw blob at its announcement and its prefix before the last chunk', async () => {
    const [a, b] = pair();
    const inbox = b.lease('L1');
    const next = rng(5);
    const data = Uint8Array.from({ length: 5 * CHUNK_BYTES + 3 }, () => next(256)); // random: sent raw, not deflated
    const seen: number[] = [];
    const progress = BlobStream.prototype.progress;
    BlobStream.prototype.progress = function (buffer, received) {
      seen.push(received);
      progress.call(this, buffer, received);
    };
    const sending = a.sendBlob('L1', 'inputs', data);
    const stream = await inbox.nextStream('inputs', 2000);
    assert.equal(stream.size, data.byteLength);
    const prefix = await stream.waitFor(CHUNK_BYTES);
    assert.deepEqual(prefix.subarray(0, CHUNK_BYTES), data.subarray(0, CHUNK_BYTES));
    const whole = await stream.done.finally(() => (BlobStream.prototype.progress = progress));
    await sending;
    assert.ok(seen.length > 1 && seen[0]! < data.byteLength, `prefixes were readable at ${seen.join(', ')} of ${data.byteLength} bytes`);
    assert.deepEqual(new Uint8Array(whole.bytes), data);
    assert.equal(prefix.buffer, whole.bytes, 'the prefix is the same memory as the whole (no copy)');
    a.close();
  });

  it('a blob whose hash is wrong fails its stream and its pending prefix reads', async () => {
    const [a, b] = pair();
    const inbox = b.lease('L1');
    const data = new Uint8Array(3 * CHUNK_BYTES).fill(9);
    void a.sendBlob('L1', 'inputs', data, { sha256: '0'.repeat(64) });
    const stream = await inbox.nextStream('inputs', 2000);
    const late = stream.waitFor(data.byteLength + 0);
    await assert.rejects(stream.done, (e: unknown) => e instanceof MeshError && e.code === 'hash-mismatch');
    // The whole arrived before the check failed: the read either resolved or failed, it never hangs.
    await late.then(() => {}, () => {});
    await assert.rejects(stream.waitFor(1), (e: unknown) => e instanceof MeshError && e.code === 'hash-mismatch');
    a.close();
  });

  it('ending the lease fails a stream still arriving', async () => {
    const [a, b] = pair();
    const inbox = b.lease('L1');
    void a.sendBlob('L1', 'inputs', new Uint8Array(8 * CHUNK_BYTES)).catch(() => {});
    const stream = await inbox.nextStream('inputs', 2000);
    const pending = stream.waitFor(stream.size);
    b.endLease('L1');
    await assert.rejects(pending, (e: unknown) => e instanceof MeshError && e.code === 'cancelled');
    a.close();
  });
});
