import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LinkTargets, MAX_PER_PEER, TARGET_TTL_MS } from './link-targets.ts';

describe('link targets', () => {
  it('keeps the first claimant, expires codes, and bounds codes per identity', () => {
    let now = 1_000;
    const t = new LinkTargets(() => now);
    assert.deepEqual(t.claim('code-a', 'app'), { claimed: true });
    assert.deepEqual(t.claim('code-a', 'app'), { claimed: true }, 'the holder may repeat');
    assert.deepEqual(t.claim('code-a', 'thief'), { claimed: false });
    assert.equal(t.lookup('code-a'), 'app');
    for (let i = 0; i < MAX_PER_PEER + 3; i++) t.claim(`flood-${i}`, 'flooder');
    assert.equal(t.size, 1 + MAX_PER_PEER, 'one identity holds at most MAX_PER_PEER codes');
    now += TARGET_TTL_MS + 1;
    assert.equal(t.lookup('code-a'), undefined, 'expired');
    t.claim('code-b', 'app');
    assert.equal(t.size, 1, 'expired codes are swept');
    t.used('code-b');
    assert.equal(t.lookup('code-b'), undefined);
  });
});
