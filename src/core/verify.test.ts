import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareOutputs, compareTensors, majority } from './verify.ts';
import type { TensorData } from '../protocol/tensor.ts';

const f32 = (values: number[], dims = [values.length]): TensorData => ({ name: 'y', dtype: 'float32', dims, data: new Float32Array(values).buffer });
const tol = { abs: 1e-5, rel: 1e-4 };

describe('compareTensors()', () => {
  it('accepts differences within the tolerance and reports the largest', () => {
    const r = compareTensors(f32([1, 100, 0]), f32([1.000001, 100.005, 0]), tol);
    assert.equal(r.ok, true);
    assert.ok(r.maxAbs > 0.004 && r.maxAbs < 0.006, `maxAbs ${r.maxAbs}`);
    assert.ok(r.maxRel > 4e-5 && r.maxRel < 6e-5, `maxRel ${r.maxRel}`);
    assert.equal(r.firstBad, undefined);
  });

  it('names the first element out of tolerance', () => {
    const r = compareTensors(f32([1, 2, 3, 4]), f32([1, 2, 3.1, 5]), tol);
    assert.equal(r.ok, false);
    assert.equal(r.firstBad, 2);
    assert.ok(Math.abs(r.maxAbs - 1) < 1e-6);
  });

  it('never treats NaN as equal, not even to NaN', () => {
    const r = compareTensors(f32([NaN, 1]), f32([NaN, 1]), { abs: 1, rel: 1 });
    assert.equal(r.ok, false);
    assert.equal(r.firstBad, 0);
    assert.equal(r.maxAbs, Infinity);
  });

  it('treats equal infinities as equal and opposite ones as different', () => {
    assert.equal(compareTensors(f32([Infinity]), f32([Infinity]), tol).ok, true);
    assert.equal(compareTensors(f32([Infinity]), f32([-Infinity]), tol).ok, false);
  });

  it('rejects tensors of different shape or dtype with a reason', () => {
    const r = compareTensors(f32([1, 2, 3, 4], [2, 2]), f32([1, 2, 3, 4], [4]), tol);
    assert.equal(r.ok, false);
    assert.match(r.reason ?? '', /shapes differ: float32\[2,2\]/);
    const i32: TensorData = { name: 'y', dtype: 'int32', dims: [1], data: new Int32Array([1]).buffer };
    assert.equal(compareTensors(f32([1]), i32, tol).ok, false);
  });

  it('compares int64 tensors exactly at zero tolerance', () => {
    const t = (v: bigint[]): TensorData => ({ name: 'i', dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v).buffer });
    assert.equal(compareTensors(t([1n, 5n]), t([1n, 5n]), { abs: 0, rel: 0 }).ok, true);
    assert.equal(compareTensors(t([1n, 5n]), t([1n, 6n]), { abs: 0, rel: 0 }).firstBad, 1);
  });

  it('compares integer tensors exactly whatever the tolerance: one class index off is caught', () => {
    const i64 = (v: bigint[]): TensorData => ({ name: 'i', dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v).buffer });
    const loose = { abs: 1e-4, rel: 1e-3 }; // the SDK's default: 5001 is within 5.0001 of 5000
    assert.equal(compareTensors(i64([7n, 5000n, 3n]), i64([7n, 5000n, 3n]), loose).ok, true);
    const r = compareTensors(i64([7n, 5000n, 3n]), i64([7n, 5001n, 3n]), loose);
    assert.equal(r.ok, false);
    assert.equal(r.firstBad, 1);
    assert.equal(r.maxAbs, 1);
    // Beyond 2^53 two int64 values can round to one double: still different.
    const big = 2n ** 53n;
    assert.equal(compareTensors(i64([big]), i64([big + 1n]), { abs: 10, rel: 1 }).ok, false);
    const u8 = (v: number[]): TensorData => ({ name: 'b', dtype: 'uint8', dims: [v.length], data: Uint8Array.from(v).buffer });
    assert.equal(compareTensors(u8([200, 1]), u8([201, 1]), { abs: 1, rel: 0.5 }).firstBad, 0);
    const i32 = (v: number[]): TensorData => ({ name: 'n', dtype: 'int32', dims: [v.length], data: Int32Array.from(v).buffer });
    assert.equal(compareTensors(i32([-4, 9]), i32([-4, 9]), { abs: 0, rel: 0 }).ok, true);
    // The float beside it still gets the tolerance, and the pair is judged as a whole.
    const f = (v: number) => ({ ...f32([v]), name: 'p' });
    assert.equal(compareOutputs([i64([5000n]), f(0.5)], [i64([5000n]), f(0.50001)], loose).ok, true);
    assert.match(compareOutputs([i64([5000n]), f(0.5)], [i64([5001n]), f(0.5)], loose).reason ?? '', /^output 0: element 0/);
    assert.equal(majority([[i64([5000n])], [i64([5001n])], [i64([5000n])]], loose).join(), '0,2');
  });

  it('refuses a negative tolerance', () => {
    assert.throws(() => compareTensors(f32([1]), f32([1]), { abs: -1, rel: 0 }), RangeError);
  });
});

describe('compareOutputs() and majority()', () => {
  it('compareOutputs() fails on a differing output count', () => {
    assert.match(compareOutputs([f32([1])], [], tol).reason ?? '', /output counts differ: 1 vs 0/);
  });

  it('compareOutputs() names the failing output', () => {
    const r = compareOutputs([f32([1]), f32([2])], [f32([1]), f32([3])], tol);
    assert.equal(r.ok, false);
    assert.match(r.reason ?? '', /^output 1:/);
  });

  it('majority() picks the two agreeing runs out of three', () => {
    const good = [f32([1, 2])];
    assert.deepEqual(majority([good, [f32([9, 9])], [f32([1, 2.0000001])]], tol), [0, 2]);
  });

  it('majority() finds none when all three disagree', () => {
    assert.deepEqual(majority([[f32([1])], [f32([2])], [f32([3])]], tol), []);
  });
});
