import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, parseClientFrame, parseJobSpec, signedText } from './coordinator.ts';
import { parsePeerFrame, decodeChunk, encodeChunk } from './peer.ts';
import { toWireError, fromWireError, MeshError } from './errors.ts';

const hash = 'a'.repeat(64);
const job = {
  kernel: { kind: 'onnx', model: { hash, bytes: 10 }, outputs: ['y'] },
  shards: [{ index: 0, inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }], outputs: [{ name: 'y', dtype: 'float32', dims: [2] }], inputHash: hash, workUnits: 2000 }],
  bid: 2,
  verifyFraction: 0.25,
  tolerance: { abs: 1e-4, rel: 1e-4 },
  deadlineMs: 60_000,
  nonce: 'n1',
};

describe('coordinator frames', () => {
  it('parseJobSpec() accepts a valid ONNX job', () => {
    assert.equal(parseJobSpec(job).shards.length, 1);
  });

  it('parseClientFrame() names the bad field inside a submitted job', () => {
    const bad = structuredClone(job) as typeof job;
    bad.shards[0]!.inputs[0]!.dtype = 'float16';
    assert.throws(
      () => parseClientFrame({ type: 'submit', rid: 1, job: bad, signature: 'abc' }),
      /'job\.shards\[0\]\.inputs\[0\]\.dtype': expected one of float32/,
    );
  });

  it('parseClientFrame() rejects a WGSL kernel with an invalid entry point', () => {
    const wgsl = { ...job, kernel: { kind: 'wgsl', source: 'x', entryPoint: 'main()', bindings: [{ binding: 0, role: 'input' }] } };
    assert.throws(() => parseClientFrame({ type: 'submit', rid: 1, job: wgsl, signature: 'abc' }), /'job\.kernel\.entryPoint'/);
  });

  it('parseClientFrame() rejects a receipt with a non-integer work unit count', () => {
    const receipt = { jobId: 'j', shard: 0, leaseId: 'l', contributor: 'mw' + '0'.repeat(40), outputHash: hash, workUnits: 1.5 };
    assert.throws(() => parseClientFrame({ type: 'receipt', rid: 2, receipt, signature: 'abc' }), /'receipt\.workUnits': expected an integer/);
  });

  it('canonicalJson() is independent of key order, so signatures match across peers', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }));
    assert.notEqual(signedText('job', { a: 1 }), signedText('receipt', { a: 1 }));
  });
});

describe('peer frames', () => {
  it('encodeChunk()/decodeChunk() round-trip id, sequence and payload', () => {
    const frame = encodeChunk(7, 42, new Uint8Array([1, 2, 3]));
    const { transferId, seq, payload } = decodeChunk(frame);
    assert.deepEqual([transferId, seq, [...payload]], [7, 42, [1, 2, 3]]);
    assert.throws(() => decodeChunk(new ArrayBuffer(3)), RangeError);
  });

  it('parsePeerFrame() refuses a blob larger than the cap', () => {
    assert.throws(
      () => parsePeerFrame({ type: 'blob', leaseId: 'l', tid: 1, what: 'inputs', bytes: 2 ** 40, sha256: hash }),
      /'bytes'/,
    );
  });

  it('parsePeerFrame() accepts a compressed blob and ties wireBytes to encoding', () => {
    const blob = { type: 'blob', leaseId: 'l', tid: 1, what: 'inputs', bytes: 4_900_000, sha256: hash };
    const parsed = parsePeerFrame({ ...blob, encoding: 'deflate-raw', wireBytes: 89_000 });
    assert.deepEqual([parsed.type === 'blob' && parsed.encoding, parsed.type === 'blob' && parsed.wireBytes], ['deflate-raw', 89_000]);
    assert.equal('encoding' in parsePeerFrame(blob), false);
    assert.throws(() => parsePeerFrame({ ...blob, encoding: 'gzip', wireBytes: 10 }), /'encoding': expected/);
    assert.throws(() => parsePeerFrame({ ...blob, encoding: 'deflate-raw' }), /'wireBytes': expected the compressed size/);
    assert.throws(() => parsePeerFrame({ ...blob, wireBytes: 10 }), /'wireBytes': expected no value without an encoding/);
    assert.throws(() => parsePeerFrame({ ...blob, encoding: 'deflate-raw', wireBytes: 2 ** 40 }), /'wireBytes'/);
  });
});

describe('errors', () => {
  it('toWireError()/fromWireError() keep code, name and message', () => {
    const back = fromWireError(toWireError(new MeshError('hash-mismatch', 'bad hash')));
    assert.deepEqual([back.code, back.name, back.message], ['hash-mismatch', 'MeshError', 'bad hash']);
    assert.equal(toWireError(new TypeError('x')).code, 'internal');
  });
});
