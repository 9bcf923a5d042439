/**
 * PeerLink over an in-memory connection pair. Deno has no RTCPeerConnection, so the pair stands in for
 * peerjs' raw DataConnection and its RTCDataChannel (send, bufferedAmount, 'bufferedamountlow'); the real
 * channel is exercised by the browser end-to-end tests.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataConnection } from 'peerjs';
import { sha256Hex } from '../core/hash.ts';
import { MeshError } from '../protocol/errors.ts';
import { CHUNK_BYTES, encodeChunk } from '../protocol/peer.ts';
import { rng } from '../core/testing/prng.ts';
import { HIGH_WATER_BYTES, PeerLink, type ShardRequest } from './peer-link.ts';
import { connPair, type FakeConn } from './testing/fake-conn.ts';

function pair(): [PeerLink, PeerLink, FakeConn, FakeConn] {
  const [a, b] = connPair('mwB', 'mwA');
  return [new PeerLink(a as unknown as DataConnection), new PeerLink(b as unknown as DataConnection), a, b];
}

const closedWith = (link: PeerLink) =>
  new Promise<Error | undefined>((resolve) => link.addEventListener('close', (e) => resolve((e as CustomEvent<{ error?: Error }>).detail.error), { once: true }));

describe('PeerLink', () => {
  it('sendBlob() delivers a multi-chunk blob intact to the lease inbox', async () => {
    const [a, b] = pair();
    const inbox = b.lease('L1');
    const data = Uint8Array.from({ length: 3 * CHUNK_BYTES + 17 }, (_, i) => (i * 31) & 0xff);
    const hash = await a.sendBlob('L1', 'inputs', data);
    assert.equal(hash, await sha256Hex(data));
    const got = await inbox.nextBlob('inputs', 2000);
    assert.deepEqual(new Uint8Array(got.bytes), data);
    assert.equal(got.sha256, hash);
    a.close();
  });

  it('sendBlob() sends a compressible blob deflated and the receiver gets the original bytes', async () => {
    const [a, b, connA] = pair();
    const inbox = b.lease('L1');
    const data = new Uint8Array(new Float32Array(256 * 1024).map((_, i) => (i % 1000 < 600 ? 0.25 : -1)).buffer);
    const hash = await a.sendBlob('L1', 'inputs', data);
    const got = await inbox.nextBlob('inputs', 2000);
    assert.deepEqual(new Uint8Array(got.bytes), data);
    assert.equal(got.sha256, hash);
    assert.ok(connA.dataChannel.sentBinaryBytes < data.byteLength / 20, `sent ${connA.dataChannel.sentBinaryBytes} of ${data.byteLength}`);
    a.close();
  });

  it('sendBlob() waits for the channel to drain above the high-water mark', async () => {
    const [a, b, connA] = pair();
    const inbox = b.lease('L1');
    // Random bytes: zeros would travel compressed and never fill the buffer.
    const next = rng(3);
    const data = new Uint8Array(Uint32Array.from({ length: (HIGH_WATER_BYTES * 2 + CHUNK_BYTES) / 4 }, () => next(2 ** 32)).buffer);
    await a.sendBlob('L1', 'outputs', data);
    await inbox.nextBlob('outputs', 5000);
    assert.ok(connA.dataChannel.maxBuffered <= HIGH_WATER_BYTES + CHUNK_BYTES + 64 * 1024, `buffered up to ${connA.dataChannel.maxBuffered}`);
    a.close();
  });

  it('routes control frames to their lease and raises shard requests as events', async () => {
    const [a, b] = pair();
    const shard = new Promise<ShardRequest>((resolve) => b.addEventListener('shard', (e) => resolve((e as CustomEvent<ShardRequest>).detail), { once: true }));
    const inbox = a.lease('L7');
    a.sendControl({ type: 'shard', v: 1, leaseId: 'L7' });
    const req = await shard;
    assert.equal(req.frame.leaseId, 'L7');
    req.link.sendControl({ type: 'need', leaseId: 'L7', model: false });
    assert.equal((await inbox.nextFrame('need', 1000)).model, false);
    a.close();
  });

  it('rejects a blob whose bytes do not match the announced hash but keeps the link', async () => {
    const [a, b, connA] = pair();
    const inbox = b.lease('L1');
    connA.dataChannel.send(JSON.stringify({ type: 'blob', leaseId: 'L1', tid: 5, what: 'inputs', bytes: 4, sha256: 'f'.repeat(64) }));
    connA.dataChannel.send(encodeChunk(5, 0, new Uint8Array([1, 2, 3, 4])));
    await assert.rejects(inbox.nextBlob('inputs', 1000), (e: unknown) => e instanceof MeshError && e.code === 'hash-mismatch');
    assert.equal(b.open, true);
    a.close();
  });

  it('closes the link with invalid-message on a malformed frame and fails its leases', async () => {
    const [, b, connA] = pair();
    const inbox = b.lease('L1');
    const closed = closedWith(b);
    connA.dataChannel.send('{"type":"need","leaseId":"L1","model":"yes"}');
    const err = await closed;
    assert.ok(err instanceof MeshError && err.code === 'invalid-message', String(err));
    assert.match(err.message, /'model': expected a boolean/);
    await assert.rejects(inbox.nextFrame('need'), /expected a boolean/);
  });

  it('outputWriter() streams parts as one outputs blob announced without a hash; the receiver hashes what arrived', async () => {
    const [a, b] = pair();
    const inbox = b.lease('L1');
    const next = rng(9);
    const data = Uint8Array.from({ length: 2 * CHUNK_BYTES + 100 }, () => next(256));
    const writer = a.outputWriter('L1', data.byteLength);
    const stream = await inbox.nextStream('outputs', 2000); // announced before any part is written
    assert.equal(stream.received, 0);
    void writer.write(data.subarray(0, CHUNK_BYTES + 7));
    await stream.waitFor(CHUNK_BYTES + 7);
    await writer.write(data.subarray(CHUNK_BYTES + 7));
    await writer.end();
    const got = await stream.done;
    assert.deepEqual(new Uint8Array(got.bytes), data);
    assert.equal(got.sha256, await sha256Hex(data));
    a.close();
  });

  it('outputWriter().end() rejects when the parts do not add up to the announced size, and a part past it', async () => {
    const [a, b] = pair();
    b.lease('L1');
    const short = a.outputWriter('L1', 10);
    await short.write(new Uint8Array(4));
    await assert.rejects(short.end(), /announced as 10 bytes: current total is 4/);
    const long = a.outputWriter('L1', 3);
    await assert.rejects(long.write(new Uint8Array(4)), RangeError);
    a.close();
  });

  it('closes the link with invalid-message on inputs or model announced without a hash', async () => {
    for (const what of ['inputs', 'model']) {
      const [, b, connA] = pair();
      b.lease('L1');
      const closed = closedWith(b);
      connA.dataChannel.send(JSON.stringify({ type: 'blob', leaseId: 'L1', tid: 1, what, bytes: 2 }));
      const err = await closed;
      assert.ok(err instanceof MeshError && err.code === 'invalid-message', `${what}: ${String(err)}`);
    }
  });

  it('closes the link with too-large when a peer sends more than it announced', async () => {
    const [, b, connA] = pair();
    b.lease('L1');
    const closed = closedWith(b);
    connA.dataChannel.send(JSON.stringify({ type: 'blob', leaseId: 'L1', tid: 1, what: 'inputs', bytes: 2, sha256: 'f'.repeat(64) }));
    connA.dataChannel.send(encodeChunk(1, 0, new Uint8Array(3)));
    const err = await closed;
    assert.ok(err instanceof MeshError && err.code === 'too-large', String(err));
  });

  it('fails a transfer in progress when the connection closes', async () => {
    const [a, , connA] = pair();
    const sending = a.sendBlob('L1', 'inputs', new Uint8Array(HIGH_WATER_BYTES * 3));
    setTimeout(() => connA.close(), 5);
    await assert.rejects(sending, (e: unknown) => e instanceof MeshError && e.code === 'transfer-failed');
    assert.equal(a.open, false);
  });
});
