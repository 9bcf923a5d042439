import assert from 'node:assert/strict';
import {
  compareOutputs,
  decide,
  DEFAULT_PROBE_POLICY,
  describeAdapter,
  epChoiceKey,
  PROBE_VERSION,
  skipWebgpu,
  webgpuDeadlineMs,
  withinTolerance,
} from './ep-policy.ts';

const HASH = 'a'.repeat(64);
const GPU = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100', isFallbackAdapter: false };
const policy = DEFAULT_PROBE_POLICY;

Deno.test('epChoiceKey() separates models, adapters, thread counts and probe versions', () => {
  const base = { modelHash: HASH, adapter: describeAdapter(GPU), threads: 2 };
  const key = epChoiceKey(base);
  assert.ok(key.startsWith(`v${PROBE_VERSION}|`));
  assert.equal(epChoiceKey({ ...base }), key);
  assert.notEqual(epChoiceKey({ ...base, threads: 1 }), key);
  assert.notEqual(epChoiceKey({ ...base, modelHash: 'b'.repeat(64) }), key);
  assert.notEqual(epChoiceKey({ ...base, adapter: describeAdapter(undefined) }), key);
});

Deno.test('epChoiceKey() rejects a malformed hash or thread count', () => {
  assert.throws(() => epChoiceKey({ modelHash: 'xyz', adapter: 'none', threads: 1 }), TypeError);
  assert.throws(() => epChoiceKey({ modelHash: HASH, adapter: 'none', threads: 0 }), RangeError);
  assert.throws(() => epChoiceKey({ modelHash: HASH, adapter: 'none', threads: 1.5 }), RangeError);
});

Deno.test('describeAdapter() names vendor, architecture, device, description and marks fallback adapters', () => {
  assert.equal(describeAdapter(undefined), 'none');
  assert.equal(describeAdapter(GPU), 'nvidia/hopper//NVIDIA H100');
  assert.equal(describeAdapter({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }), 'google/swiftshader///fallback');
});

Deno.test('compareOutputs() reports the largest difference and the reference scale over all outputs', () => {
  const c = compareOutputs([new Float32Array([0, 0.5, -3]), [10]], [new Float32Array([0, 0.5001, -3]), [10.002]]);
  assert.ok(Math.abs(c.maxAbsDiff - 0.002) < 1e-9, String(c.maxAbsDiff));
  assert.equal(c.scale, 10);
});

Deno.test('compareOutputs() gives Infinity for mismatched counts, lengths and a NaN on one side only', () => {
  assert.equal(compareOutputs([[1]], []).maxAbsDiff, Infinity);
  assert.equal(compareOutputs([[1, 2]], [[1]]).maxAbsDiff, Infinity);
  assert.equal(compareOutputs([[NaN]], [[1]]).maxAbsDiff, Infinity);
  assert.equal(compareOutputs([[Infinity]], [[-Infinity]]).maxAbsDiff, Infinity);
  assert.equal(compareOutputs([[NaN, Infinity]], [[NaN, Infinity]]).maxAbsDiff, 0);
});

Deno.test('compareOutputs() compares int64 outputs as numbers', () => {
  const c = compareOutputs([new BigInt64Array([1n, 5n])], [new BigInt64Array([1n, 7n])]);
  assert.equal(c.maxAbsDiff, 2);
});

Deno.test('withinTolerance() is absolute up to magnitude 1 and relative above', () => {
  assert.ok(withinTolerance({ maxAbsDiff: 9e-4, scale: 0.5 }, 1e-3));
  assert.ok(!withinTolerance({ maxAbsDiff: 2e-3, scale: 0.5 }, 1e-3));
  assert.ok(withinTolerance({ maxAbsDiff: 0.09, scale: 100 }, 1e-3));
  assert.ok(!withinTolerance({ maxAbsDiff: Infinity, scale: 100 }, 1e-3));
});

Deno.test('skipWebgpu() skips without an adapter, on a fallback adapter and under minWasmMs', () => {
  assert.match(skipWebgpu({ wasmMs: 100, adapter: undefined }, policy)!, /no WebGPU adapter/);
  const soft = { vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true };
  assert.match(skipWebgpu({ wasmMs: 100, adapter: soft }, policy)!, /fallback/);
  assert.equal(skipWebgpu({ wasmMs: 100, adapter: soft }, { ...policy, includeFallbackAdapters: true }), undefined);
  assert.match(skipWebgpu({ wasmMs: 1, adapter: GPU }, policy)!, /under the 5 ms/);
  assert.equal(skipWebgpu({ wasmMs: 100, adapter: GPU }, policy), undefined);
});

Deno.test('decide() keeps wasm when webgpu failed, timed out or was slower', () => {
  assert.equal(decide(100, { kind: 'failed', message: 'no op Foo' }, policy).ep, 'wasm');
  assert.match(decide(100, { kind: 'warmup-timeout', capMs: 10_000 }, policy).reason, /10000 ms cap/);
  assert.equal(decide(100, { kind: 'slower', warmupMs: 900, deadlineMs: webgpuDeadlineMs(100, policy) }, policy).ep, 'wasm');
  const close = { kind: 'done' as const, warmupMs: 500, webgpuMs: 95, comparison: { maxAbsDiff: 1e-6, scale: 1 } };
  assert.equal(decide(100, close, policy).ep, 'wasm'); // 95 ms is not under 0.9 x 100 ms
});

Deno.test('decide() picks webgpu only when it is faster by the margin and agrees within the tolerance', () => {
  const fast = { kind: 'done' as const, warmupMs: 500, webgpuMs: 20, comparison: { maxAbsDiff: 1e-5, scale: 1 } };
  const chosen = decide(100, fast, policy);
  assert.equal(chosen.ep, 'webgpu');
  assert.match(chosen.reason, /20\.0 ms vs wasm 100\.0 ms/);
  const wrong = decide(100, { ...fast, comparison: { maxAbsDiff: 0.05, scale: 1 } }, policy);
  assert.equal(wrong.ep, 'wasm');
  assert.match(wrong.reason, /disagree/);
});

Deno.test('webgpuDeadlineMs() is winMargin x the wasm time', () => {
  assert.equal(webgpuDeadlineMs(200, policy), 180);
});
