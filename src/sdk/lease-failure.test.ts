import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../protocol/errors.ts';
import { classifyComputeFailure } from './lease-failure.ts';

const reason = (err: unknown, source: Parameters<typeof classifyComputeFailure>[1] = 'none') => classifyComputeFailure(err, source)?.reason;

describe('classifyComputeFailure()', () => {
  it('maps a lost GPU device to device-lost, never to a wrong result', () => {
    assert.equal(reason(new MeshError('gpu-device-lost', 'Cannot finish GPU work as the device was destroyed')), 'device-lost');
  });

  it('keeps the supervisor\'s worker-crashed and timeout', () => {
    assert.equal(reason(new MeshError('worker-crashed', 'gone')), 'worker-crashed');
    assert.equal(reason(new MeshError('timeout', 'late')), 'timeout');
  });

  it('maps a hash mismatch of cached model bytes to cache-corrupt, of the client\'s bytes to bad-input', () => {
    const err = new MeshError('hash-mismatch', 'Cannot load ONNX model as its bytes hash to x');
    assert.equal(reason(err, 'cache'), 'cache-corrupt');
    assert.equal(reason(new MeshError('not-found', 'left the cache'), 'session'), 'cache-corrupt');
    assert.equal(reason(err, 'peer'), 'bad-input');
  });

  it('recognises running out of memory in ORT, V8 and WebGPU messages', () => {
    assert.equal(reason(new RangeError('Array buffer allocation failed')), 'out-of-memory');
    assert.equal(reason(new MeshError('onnx-failed', 'Cannot run ONNX model h (wasm): failed to allocate a buffer of size 1073741824')), 'out-of-memory');
    assert.equal(reason(new MeshError('too-large', 'Cannot run a WGSL dispatch as the GPU is out of memory: x')), 'out-of-memory');
  });

  it('maps what this runtime lacks to unsupported and what the job gets wrong to bad-input', () => {
    assert.equal(reason(new MeshError('gpu-unavailable', 'no adapter')), 'unsupported');
    assert.equal(reason(new MeshError('too-large', 'binding over maxStorageBufferBindingSize')), 'unsupported');
    assert.equal(reason(new MeshError('onnx-failed', 'Cannot load onnxruntime-web (wasm) from /ort/: 404')), 'unsupported');
    assert.equal(reason(new MeshError('gpu-validation', 'WGSL error')), 'bad-input');
    assert.equal(reason(new MeshError('onnx-failed', 'Cannot run ONNX model h (wasm): invalid dims')), 'bad-input');
    assert.equal(reason(new MeshError('invalid-message', 'no dispatch size')), 'bad-input');
  });

  it('calls anything else thrown by the worker a crash, and a cancelled lease nothing to report', () => {
    assert.equal(reason(new TypeError('x is undefined')), 'worker-crashed');
    assert.equal(reason('a string'), 'worker-crashed');
    assert.equal(reason(new MeshError('internal', '?')), 'worker-crashed');
    assert.equal(classifyComputeFailure(new MeshError('cancelled', 'revoked'), 'none'), undefined);
  });

  it('keeps the message within the fail frame\'s 500 characters', () => {
    assert.equal(classifyComputeFailure(new MeshError('timeout', 'x'.repeat(900)), 'none')!.message.length, 500);
  });
});
