import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RemoteFailure } from '../mesh/lease-inbox.ts';
import { MeshError } from '../protocol/errors.ts';
import { rejectReason } from './lease-transfer.ts';

describe('rejectReason()', () => {
  it("maps a contributor's own reported failure to 'transfer-failed', never 'bad-output'", () => {
    for (const code of ['gpu-device-lost', 'gpu-validation', 'gpu-unavailable', 'onnx-failed', 'internal', 'cancelled'] as const) {
      assert.equal(rejectReason(new RemoteFailure(code, 'Peer reported Error: worker crashed')), 'transfer-failed', code);
    }
  });

  it("keeps 'bad-output' for outputs this side found wrong, and 'hash-mismatch' for outputs that do not hash as declared", () => {
    assert.equal(rejectReason(new MeshError('invalid-message', "Cannot accept output 'y' of shard 0 as its axis 0 must be 2")), 'bad-output');
    assert.equal(rejectReason(new MeshError('hash-mismatch', 'Cannot accept the outputs')), 'hash-mismatch');
  });

  it("maps a dead link, a timeout or a non-MeshError to 'transfer-failed'", () => {
    assert.equal(rejectReason(new MeshError('transfer-failed', 'link closed')), 'transfer-failed');
    assert.equal(rejectReason(new Error('boom')), 'transfer-failed');
    assert.equal(rejectReason('boom'), 'transfer-failed');
  });
});
