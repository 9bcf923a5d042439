import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matmulReference, maxAbsError, randomMatrix } from './matmul-reference.ts';

describe('matmul-reference', () => {
  it('matmulReference() multiplies a known 2x3 by 3x2 product', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([7, 8, 9, 10, 11, 12]);
    assert.deepEqual([...matmulReference(a, b, 2, 3, 2)], [58, 64, 139, 154]);
  });

  it('matmulReference() by the identity returns the input', () => {
    const a = randomMatrix(5, 4, 3);
    const id = new Float32Array(16);
    for (let i = 0; i < 4; i++) id[i * 4 + i] = 1;
    assert.deepEqual(matmulReference(a, id, 5, 4, 4), a);
  });

  it('randomMatrix() is seeded, in [-1, 1), and not constant', () => {
    const a = randomMatrix(16, 16, 42);
    assert.deepEqual(a, randomMatrix(16, 16, 42));
    assert.notDeepEqual(a, randomMatrix(16, 16, 43));
    assert.ok(a.every((v) => v >= -1 && v < 1));
    assert.ok(new Set(a).size > 200);
  });

  it('maxAbsError() finds the largest difference and flags mismatched or non-finite data', () => {
    assert.equal(maxAbsError([1, 2, 3], [1, 2.5, 2]), 1);
    assert.equal(maxAbsError([1], [1, 2]), Infinity);
    assert.equal(maxAbsError([Number.NaN], [1]), Infinity);
  });

  it('rejects inputs whose lengths do not match the shape', () => {
    assert.throws(() => matmulReference(new Float32Array(5), new Float32Array(6), 2, 3, 2), RangeError);
  });
});
