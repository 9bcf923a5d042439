import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { packTensors, unpackTensors } from '../core/sharding.ts';
import type { TensorData } from '../protocol/tensor.ts';
import { packOwned, unpackOwned } from './owned-tensors.ts';

const t = (name: string, values: number[]): TensorData => ({ name, dtype: 'float32', dims: [values.length], data: Float32Array.from(values).buffer });

describe('owned tensors', () => {
  it('packOwned() hands a single tensor\'s buffer on and packs several like packTensors()', () => {
    const one = t('y', [1, 2]);
    assert.equal(packOwned([one]), one.data);
    const two = [t('a', [1]), t('b', [2, 3])];
    assert.deepEqual(new Uint8Array(packOwned(two)), new Uint8Array(packTensors(two)));
  });

  it('unpackOwned() wraps the buffer for one spec and copies for several like unpackTensors()', () => {
    const buffer = Float32Array.from([4, 5, 6]).buffer;
    const [y] = unpackOwned(buffer, [{ name: 'y', dtype: 'float32', dims: [3] }]);
    assert.equal(y!.data, buffer);
    assert.deepEqual(y!.dims, [3]);
    const specs = [{ name: 'a', dtype: 'float32' as const, dims: [1] }, { name: 'b', dtype: 'float32' as const, dims: [2] }];
    assert.deepEqual(unpackOwned(buffer, specs).map((x) => [...new Float32Array(x.data)]), unpackTensors(buffer, specs).map((x) => [...new Float32Array(x.data)]));
  });

  it('unpackOwned() refuses a buffer whose size does not match the one spec', () => {
    assert.throws(() => unpackOwned(new ArrayBuffer(8), [{ name: 'y', dtype: 'float32', dims: [3] }]), /must hold 12 bytes for \[y\]: current length is 8/);
  });
});
