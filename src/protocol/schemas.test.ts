import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Capabilities } from './capabilities.ts';
import { type ClientFrameOf, type JobSpec, parseClientFrame, parseJobSpec } from './coordinator.ts';
import type { ShardSpec } from './kernel.ts';
import { type PeerFrame, parsePeerFrame } from './peer.ts';
import { type Parser, ValidationError } from './validate.ts';

// Type-level checks: the inferred types keep the shapes callers were written against.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const _typeChecks: [
  Equal<Pick<ShardSpec, 'dispatch'>, { dispatch?: [number, number, number] }>,
  Equal<ClientFrameOf<'state'>, { type: 'state'; rid: number; state: 'active' | 'paused' }>,
  Equal<PeerFrame['type'], 'shard' | 'need' | 'pull' | 'blob' | 'done' | 'fail' | 'infer' | 'answer' | 'busy'>,
  Equal<Capabilities['ortEps'], ('wasm' | 'webgpu')[]>,
  Equal<typeof parseJobSpec, Parser<JobSpec>>,
] = [true, true, true, true, true];

const hash = 'a'.repeat(64);
const limits = {
  maxStorageBufferBindingSize: 134217728,
  maxBufferSize: 268435456,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
};
const tensor = (name: string, dims: number[]) => ({ name, dtype: 'float32', dims });
const shard = (index: number) => ({
  index,
  inputs: [tensor('a', [4, 8]), tensor('b', [8, 4])],
  outputs: [tensor('c', [4, 4])],
  inputHash: hash,
  workUnits: 256,
  dispatch: [1, 1, 1],
});
const job = {
  kernel: { kind: 'wgsl', source: 'x', entryPoint: 'main', bindings: [{ binding: 0, role: 'input' }] },
  shards: [shard(0), shard(1)],
  bid: 2,
  verifyFraction: 0.25,
  tolerance: { abs: 1e-4, rel: 1e-4 },
  deadlineMs: 60_000,
  nonce: 'n1',
};
const caps = {
  gpu: { vendor: 'v', architecture: 'a', description: 'd', features: ['f'], limits },
  cpu: { cores: 8, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true },
  memoryGiB: 7.5,
  ortEps: ['wasm'],
  gflops: { cpu: 10.5, gpu: 100.25 },
};
const claim = { jobId: 'j', shard: 3, leaseId: 'l' };

/** Frames that reach every schema in the protocol, and the parser each goes through. */
const FRAMES: [string, (value: unknown) => unknown, Record<string, unknown>][] = [
  ['submit', parseClientFrame, { type: 'submit', rid: 1, job, signature: 'sig' }],
  ['submit onnx', parseClientFrame, {
    type: 'submit',
    rid: 1,
    job: { ...job, kernel: { kind: 'onnx', model: { hash, bytes: 10, url: '/m', name: 'm' }, outputs: ['y'] } },
    signature: 'sig',
  }],
  ['register', parseClientFrame, { type: 'register', rid: 2, caps, askPrice: 1, maxConcurrent: 2 }],
  ['receipt', parseClientFrame, { type: 'receipt', rid: 3, receipt: { ...claim, contributor: 'mw' + '0'.repeat(40), outputHash: hash, workUnits: 5 }, signature: 's' }],
  ['result', parseClientFrame, { type: 'result', rid: 4, claim: { ...claim, outputHash: hash }, signature: 's' }],
  ['auth', parseClientFrame, { type: 'auth', v: 1, peerId: 'mw' + '0'.repeat(40), publicKey: 'k', signature: 's' }],
  ['done', parsePeerFrame, { type: 'done', leaseId: 'l', outputHash: hash, outputs: [tensor('c', [4, 4])] }],
  ['blob', parsePeerFrame, { type: 'blob', leaseId: 'l', tid: 1, what: 'inputs', bytes: 9, sha256: hash, encoding: 'deflate-raw', wireBytes: 4 }],
  ['fail', parsePeerFrame, { type: 'fail', leaseId: 'l', error: { name: 'MeshError', code: 'internal', message: 'm' } }],
  ['shard', parsePeerFrame, { type: 'shard', v: 1, leaseId: 'l' }],
];

type Key = string | number;

/** Paths of every plain object inside `value`, the root included. */
function objectPaths(value: unknown, at: Key[] = []): Key[][] {
  if (Array.isArray(value)) return value.flatMap((x, i) => objectPaths(x, [...at, i]));
  if (typeof value !== 'object' || value === null) return [];
  return [at, ...Object.entries(value).flatMap(([k, x]) => objectPaths(x, [...at, k]))];
}

/** Paths of every integer inside `value`. */
function integerPaths(value: unknown, at: Key[] = []): Key[][] {
  if (Number.isInteger(value)) return [at];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, x]) => integerPaths(x, [...at, Array.isArray(value) ? Number(k) : k]));
}

function pathText(path: Key[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/** A copy of `frame` with `value` at `path`. */
function withValue(frame: unknown, path: Key[], value: unknown): Record<Key, unknown> {
  const copy = structuredClone(frame) as Record<Key, unknown>;
  let target = copy;
  for (const k of path.slice(0, -1)) target = target[k] as Record<Key, unknown>;
  target[path.at(-1)!] = value;
  return copy;
}

/** JSON text of `frame` with the raw JSON `json` at `path`: a value, or with `key` a new field of the object there. */
function jsonWith(frame: unknown, path: Key[], json: string, key?: string): string {
  const marker = 'MARKER_7f3a';
  const copy = withValue(frame, key === undefined ? path : [...path, marker], marker);
  const text = JSON.stringify(copy);
  return key === undefined ? text.replace(`"${marker}"`, json) : text.replace(`"${marker}":"${marker}"`, `${JSON.stringify(key)}:${json}`);
}

function assertRejectedAt(parse: (value: unknown) => unknown, text: string, path: string): void {
  assert.throws(() => parse(JSON.parse(text)), (err: unknown) => {
    assert.ok(err instanceof ValidationError, `${text}: expected a ValidationError, got ${String(err)}`);
    assert.equal(err.path, path, text);
    return true;
  }, `accepted ${text}`);
}

describe('wire schemas', () => {
  it('accept every frame used by these tests', () => {
    for (const [name, parse, frame] of FRAMES) assert.deepEqual(parse(frame), frame, name);
  });

  it('reject __proto__, constructor and prototype keys at any depth (own keys of parsed JSON)', () => {
    let checked = 0;
    for (const [, parse, frame] of FRAMES) {
      for (const path of objectPaths(frame)) {
        for (const key of ['__proto__', 'constructor', 'prototype']) {
          const text = jsonWith(frame, path, '{"polluted":true}', key);
          const parsed = JSON.parse(text) as Record<Key, unknown>;
          assert.ok(Object.hasOwn(path.reduce((o, k) => o[k] as Record<Key, unknown>, parsed), key), text);
          assertRejectedAt(parse, text, pathText([...path, key]));
          checked++;
        }
      }
    }
    assert.ok(checked > 100, `only ${checked} cases`);
  });

  it('refuse NaN, Infinity, 1e400, fractions, unsafe integers and strings wherever integers are required', () => {
    let checked = 0;
    for (const [, parse, frame] of FRAMES) {
      for (const path of integerPaths(frame)) {
        for (const bad of ['1e400', '-1e400', '1.5', String(2 ** 53), String(2 ** 53 + 2), '"1"', 'null']) {
          assertRejectedAt(parse, jsonWith(frame, path, bad), pathText(path));
          checked++;
        }
        assert.throws(() => parse(withValue(frame, path, NaN)), ValidationError);
      }
    }
    assert.ok(checked > 200, `only ${checked} cases`);
  });

  it('name nested fields and array indices in error paths', () => {
    const bad = structuredClone(FRAMES[0]![2]) as { job: { shards: { inputs: { dims: unknown[] }[] }[] } };
    bad.job.shards[1]!.inputs[1]!.dims[1] = -3;
    assert.throws(() => parseClientFrame(bad), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.path, 'job.shards[1].inputs[1].dims[1]');
      assert.equal(err.message, "Cannot accept 'job.shards[1].inputs[1].dims[1]': expected a number of at least 0, current value is -3");
      return true;
    });
    assert.throws(() => parseClientFrame({ ...FRAMES[2]![2], caps: { ...caps, gpu: { ...caps.gpu, features: ['f', 7] } } }), /'caps\.gpu\.features\[1\]': expected a string/);
  });

  it('keep the blob rule: wireBytes exactly when encoding is present', () => {
    const blob = { type: 'blob', leaseId: 'l', tid: 1, what: 'model', bytes: 9, sha256: hash };
    assert.deepEqual(parsePeerFrame(blob), blob);
    assert.deepEqual(parsePeerFrame({ ...blob, encoding: 'deflate-raw', wireBytes: 0 }), { ...blob, encoding: 'deflate-raw', wireBytes: 0 });
    assertRejectedAt(parsePeerFrame, JSON.stringify({ ...blob, encoding: 'deflate-raw' }), 'wireBytes');
    assertRejectedAt(parsePeerFrame, JSON.stringify({ ...blob, wireBytes: 3 }), 'wireBytes');
    assertRejectedAt(parsePeerFrame, JSON.stringify({ ...blob, encoding: 'gzip', wireBytes: 3 }), 'encoding');
    assertRejectedAt(parsePeerFrame, JSON.stringify({ ...blob, encoding: 'deflate-raw', wireBytes: 1.5 }), 'wireBytes');
  });

  it('check an array length before its items', () => {
    const long = { ...FRAMES[6]![2], outputs: Array.from({ length: 65 }, () => 'not a tensor') };
    assert.throws(() => parsePeerFrame(long), /'outputs': expected an array of 0\.\.64 items, current value is an array of length 65/);
  });
});

