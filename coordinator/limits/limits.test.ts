import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from './token-bucket.ts';
import { IpCap } from './ip-cap.ts';

describe('limits', () => {
  it('TokenBucket refuses past the burst and refills with time', () => {
    let t = 0;
    const bucket = new TokenBucket(10, 3, () => t);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    t += 100; // 0.1 s at 10/s = one token
    assert.deepEqual([bucket.take(), bucket.take()], [true, false]);
  });

  it('IpCap refuses past the cap and frees a slot on release, once', () => {
    const cap = new IpCap(2);
    const a = cap.acquire('1.2.3.4');
    const b = cap.acquire('1.2.3.4');
    assert.equal(cap.acquire('1.2.3.4'), null);
    assert.notEqual(cap.acquire('5.6.7.8'), null);
    a!();
    a!();
    assert.equal(cap.count('1.2.3.4'), 1);
    assert.notEqual(cap.acquire('1.2.3.4'), null);
    b!();
  });
});
