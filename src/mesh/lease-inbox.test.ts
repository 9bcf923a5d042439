import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../protocol/errors.ts';
import { LeaseInbox, MAX_UNREAD, RemoteFailure } from './lease-inbox.ts';

const hash = 'a'.repeat(64);

describe('LeaseInbox', () => {
  it('hands out a frame that arrived before the read', async () => {
    const inbox = new LeaseInbox('L');
    inbox.pushFrame({ type: 'need', leaseId: 'L', model: true });
    assert.equal((await inbox.nextFrame('need')).model, true);
  });

  it('wakes a waiting read with the matching frame only', async () => {
    const inbox = new LeaseInbox('L');
    const done = inbox.nextFrame('done');
    inbox.pushFrame({ type: 'need', leaseId: 'L', model: false });
    inbox.pushFrame({ type: 'done', leaseId: 'L', outputHash: hash, outputs: [] });
    assert.equal((await done).outputHash, hash);
    assert.equal((await inbox.nextFrame('need')).model, false);
  });

  it('delivers blobs by kind and passes on a failed hash check', async () => {
    const inbox = new LeaseInbox('L');
    inbox.pushBlob('outputs', Promise.reject(new MeshError('hash-mismatch', 'bad')));
    inbox.pushBlob('inputs', Promise.resolve({ bytes: new ArrayBuffer(3), sha256: 'h' }));
    assert.equal((await inbox.nextBlob('inputs')).bytes.byteLength, 3);
    await assert.rejects(inbox.nextBlob('outputs'), /bad/);
  });

  it('fails pending and later reads with the peer error from a fail frame', async () => {
    const inbox = new LeaseInbox('L');
    const pending = inbox.nextFrame('need');
    inbox.pushFrame({ type: 'fail', leaseId: 'L', error: { name: 'MeshError', code: 'onnx-failed', message: 'boom' } });
    await assert.rejects(pending, (e: unknown) => e instanceof RemoteFailure && e.code === 'onnx-failed' && /boom/.test(e.message));
    await assert.rejects(inbox.nextBlob('outputs'), RemoteFailure);
  });

  it('times out a read with transfer-failed', async () => {
    const inbox = new LeaseInbox('L');
    await assert.rejects(inbox.nextFrame('done', 10), (e: unknown) => e instanceof MeshError && e.code === 'transfer-failed' && /'done' frame did not arrive/.test(e.message));
  });

  it('fails the lease instead of growing past MAX_UNREAD items', async () => {
    const inbox = new LeaseInbox('L');
    for (let i = 0; i <= MAX_UNREAD; i++) inbox.pushFrame({ type: 'need', leaseId: 'L', model: false });
    assert.equal((inbox.error as MeshError | undefined)?.code, 'rate-limited');
  });
});
