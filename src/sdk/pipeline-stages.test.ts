/** The sample a pipeline split by time is measured on: the first item of each input. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chainOrder, firstItem } from './pipeline-stages.ts';

describe('firstItem', () => {
  it('firstItem() copies the first item along axis 0 of each input, in its own dtype', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6]);
    const ids = new BigInt64Array([7n, 8n, 9n]);
    const out = firstItem({ x: { dtype: 'float32', dims: [3, 2], data: x.subarray(0) }, ids: { dtype: 'int64', dims: [3], data: ids } });
    assert.deepEqual(out.x!.dims, [1, 2]);
    assert.deepEqual([...(out.x!.data as Float32Array)], [1, 2]);
    assert.deepEqual(out.ids!.dims, [1]);
    assert.deepEqual([...(out.ids!.data as BigInt64Array)], [7n]);
    // A view at an offset reads from its own start.
    const view = firstItem({ x: { dtype: 'float32', dims: [1, 2], data: x.subarray(4) } });
    assert.deepEqual([...(view.x!.data as Float32Array)], [5, 6]);
  });

  it('firstItem() refuses an empty batch, too few bytes and an unknown dtype', () => {
    assert.throws(() => firstItem({ x: { dtype: 'float32', dims: [0, 2], data: new Float32Array(0) } }), /at least one item/);
    assert.throws(() => firstItem({ x: { dtype: 'float32', dims: [2, 4], data: new Float32Array(3) } }), /holds 12 bytes, under one item's 16/);
    assert.throws(() => firstItem({ x: { dtype: 'float64' as 'float32', dims: [1], data: new Float64Array(1) } }), /known dtype/);
  });
});

describe('chainOrder', () => {
  it("orders a stage's inputs as the stage before hands them on, so the packed activations unpack by name", () => {
    assert.deepEqual(chainOrder(['p2o.Add.187', 'relu_1.tmp_0'], ['relu_1.tmp_0', 'p2o.Add.187']), ['relu_1.tmp_0', 'p2o.Add.187']);
    assert.deepEqual(chainOrder(['a'], ['a']), ['a']);
  });

  it('keeps the order when the tensors differ (not a chain) or there is no next stage', () => {
    assert.deepEqual(chainOrder(['a', 'b'], ['a', 'c']), ['a', 'b']);
    assert.deepEqual(chainOrder(['a', 'b'], ['a']), ['a', 'b']);
    assert.deepEqual(chainOrder(['a', 'b'], undefined), ['a', 'b']);
  });
});
