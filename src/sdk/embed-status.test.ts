import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { badgeButton, badgeView, type EmbedState } from './embed-status.ts';

const STATES: EmbedState[] = ['connecting', 'starting', 'active', 'paused', 'reconnecting', 'stopped', 'unavailable', 'elsewhere'];

describe('badgeView()', () => {
  it('never offers Stop beside a state that is not contributing', () => {
    for (const state of STATES) {
      const view = badgeView(state, 0);
      const label = badgeButton(view.action).label;
      if (state === 'stopped' || state === 'unavailable' || state === 'elsewhere') assert.notEqual(label, 'Stop', state);
      else assert.equal(label, 'Stop', state);
    }
  });

  it('counts shards and lights the dot only while active', () => {
    assert.deepEqual(badgeView('active', 1), { active: true, text: 'Sharing compute · 1 shard', action: 'stop' });
    assert.equal(badgeView('active', 3).text, 'Sharing compute · 3 shards');
    assert.equal(STATES.filter((s) => badgeView(s, 0).active).join(), 'active');
  });

  it('says why the power rules paused, and plain Paused otherwise', () => {
    assert.equal(badgeView('paused', 0, { holding: true, reason: 'paused while the tab is hidden' }).text, 'Paused while the tab is hidden');
    assert.equal(badgeView('paused', 0, { holding: false, reason: '' }).text, 'Paused');
  });
});

describe('badgeButton()', () => {
  it('tells the truth about Stop: the answer is remembered, not forgotten', () => {
    const { title } = badgeButton('stop');
    assert.match(title, /remembered/);
    assert.doesNotMatch(title, /forget/);
  });
});
