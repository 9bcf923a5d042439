import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newTabId, parseTabMessage } from './tab-message.ts';

const tab = 'a'.repeat(32);

describe('parseTabMessage()', () => {
  it('accepts a well-formed message about its own slot', () => {
    assert.deepEqual(parseTabMessage({ v: 1, type: 'released', slot: 'default', tab }, 'default'), { v: 1, type: 'released', slot: 'default', tab });
    assert.equal(parseTabMessage({ v: 1, type: 'takeover', slot: 'default', tab }, 'default')?.type, 'takeover');
  });

  it('ignores other slots, versions, types, malformed ids and extra fields', () => {
    for (const bad of [
      null,
      'released',
      [1, 'released', 'default', tab],
      { v: 1, type: 'released', slot: 'other', tab },
      { v: 2, type: 'released', slot: 'default', tab },
      { v: 1, type: 'close', slot: 'default', tab },
      { v: 1, type: 'released', slot: 'default', tab: 'A'.repeat(32) },
      { v: 1, type: 'released', slot: 'default', tab: tab + '0' },
      { v: 1, type: 'released', slot: 'default' },
      { v: 1, type: 'released', slot: 'default', tab, session: 'steal' },
    ]) {
      assert.equal(parseTabMessage(bad, 'default'), undefined, JSON.stringify(bad));
    }
  });
});

describe('newTabId()', () => {
  it('makes 32 hex digits that parse as a tab id', () => {
    const id = newTabId();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(parseTabMessage({ v: 1, type: 'released', slot: 'x', tab: id }, 'x')?.tab, id);
  });
});
