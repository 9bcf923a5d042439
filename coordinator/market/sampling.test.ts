import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseVerified } from './sampling.ts';

describe('chooseVerified()', () => {
  it('picks every shard at fraction 1 and none at 0', () => {
    assert.deepEqual([...chooseVerified(5, 1)].sort(), [0, 1, 2, 3, 4]);
    assert.equal(chooseVerified(5, 0).size, 0);
  });

  it('picks distinct in-range indices, floor or ceil of fraction * count', () => {
    for (let trial = 0; trial < 50; trial++) {
      const picked = chooseVerified(10, 0.25);
      assert.ok(picked.size === 2 || picked.size === 3, `size ${picked.size}`);
      for (const i of picked) assert.ok(i >= 0 && i < 10);
    }
  });

  it('samples the fractional part with its probability', () => {
    let total = 0;
    for (let trial = 0; trial < 2000; trial++) total += chooseVerified(1, 0.3).size;
    assert.ok(total > 480 && total < 720, `picked ${total} of 2000`);
  });
});
