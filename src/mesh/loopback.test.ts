import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_BYTES } from '../protocol/peer.ts';
import { loopbackPair } from './loopback.ts';
import { HIGH_WATER_BYTES, PeerLink, type ShardRequest } from './peer-link.ts';

describe('loopbackPair()', () => {
  it('carries a lease exchange between two PeerLinks of the same peer', async () => {
    const [x, y] = loopbackPair('mwSelf');
    const near = new PeerLink(x);
    const far = new PeerLink(y);
    assert.equal(near.remote, 'mwSelf');
    far.addEventListener('shard', (e) => {
      const { link, frame } = (e as CustomEvent<ShardRequest>).detail;
      const inbox = link.lease(frame.leaseId);
      link.sendControl({ type: 'need', leaseId: frame.leaseId, model: false });
      void inbox.nextBlob('inputs').then(({ bytes }) => link.sendBlob(frame.leaseId, 'outputs', new Uint8Array(bytes).reverse()));
    });
    const inbox = near.lease('L');
    near.sendControl({ type: 'shard', v: 1, leaseId: 'L' });
    assert.equal((await inbox.nextFrame('need', 1000)).model, false);
    const data = Uint8Array.from({ length: HIGH_WATER_BYTES + 3 * CHUNK_BYTES }, (_, i) => i & 0xff);
    await near.sendBlob('L', 'inputs', data);
    const out = new Uint8Array((await inbox.nextBlob('outputs', 5000)).bytes);
    assert.deepEqual(out, data.slice().reverse());
  });

  it('closes both ends together', () => {
    const [x, y] = loopbackPair('mwSelf');
    const near = new PeerLink(x);
    const far = new PeerLink(y);
    near.close();
    assert.equal(far.open, false);
    assert.throws(() => far.sendControl({ type: 'need', leaseId: 'L', model: true }), /closed|Cannot/);
  });
});
