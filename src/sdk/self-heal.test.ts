import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type HealActions, SelfHealer } from './self-heal.ts';

/** A contributor's side of the healer, recording what it was asked to do. */
function harness(opts: { heal?: () => Promise<void>; active?: boolean } = {}) {
  const log: string[] = [];
  let now = 1_000_000;
  const sleeps: number[] = [];
  let active = opts.active ?? true;
  const actions: HealActions = {
    pause: (reason) => {
      if (!active) return Promise.resolve(false);
      active = false;
      log.push(`pause: ${reason}`);
      return Promise.resolve(true);
    },
    heal: () => (log.push('heal'), (opts.heal ?? (() => Promise.resolve()))()),
    resume: () => {
      active = true;
      log.push('resume');
      return Promise.resolve(true);
    },
    stay: (reason) => void log.push(`stay: ${reason}`),
  };
  const healer = new SelfHealer(actions, {
    now: () => now,
    sleep: (ms) => (sleeps.push(ms), Promise.resolve()),
    coolDownMs: 100,
  });
  const fault = (failure = 'worker-crashed') => healer.fault({ lane: 'gpu', failure, message: 'boom' });
  return { healer, log, sleeps, fault, advance: (ms: number) => (now += ms) };
}

describe('SelfHealer', () => {
  it('lets two faults pass and pauses, heals and resumes on the third within a minute', async () => {
    const h = harness();
    h.fault();
    h.fault('device-lost');
    assert.equal(h.healer.busy, undefined);
    h.fault();
    await h.healer.busy;
    assert.equal(h.log.length, 3);
    assert.match(h.log[0]!, /^pause: 3 compute faults within 60 s \(last: gpu worker-crashed: boom\)/);
    assert.deepEqual(h.log.slice(1), ['heal', 'resume']);
    assert.deepEqual(h.sleeps, [100]);
  });

  it('forgets faults older than its window', async () => {
    const h = harness();
    h.fault();
    h.fault();
    h.advance(61_000);
    h.fault();
    assert.equal(h.healer.busy, undefined);
    assert.deepEqual(h.log, []);
  });

  it('stays paused, saying why, when the self-test after the restart fails', async () => {
    const h = harness({ heal: () => Promise.reject(new Error('GPU self-test computed [0, 0]')) });
    h.healer.coordinatorPaused('failed leases (last: device-lost: lost)', 5);
    await h.healer.busy;
    assert.match(h.log[0]!, /^pause: paused by the coordinator after 5 failed leases in a row/);
    assert.match(h.log[2]!, /^stay: .*the self-test after restarting the workers failed: GPU self-test computed \[0, 0\]$/);
    assert.equal(h.log.length, 3);
  });

  it('waits longer before each resume and gives up on the third pause within ten minutes', async () => {
    const h = harness();
    for (let i = 0; i < 3; i++) {
      h.healer.coordinatorPaused('x', 5);
      await h.healer.busy;
      h.advance(60_000);
    }
    assert.deepEqual(h.sleeps, [100, 200]);
    assert.equal(h.log.filter((l) => l === 'resume').length, 2);
    assert.match(h.log.at(-1)!, /^stay: .*paused 3 times within 10 min/);
  });

  it('leaves a contributor that was not active alone (the user paused it)', async () => {
    const h = harness({ active: false });
    h.healer.coordinatorPaused('x', 5);
    await h.healer.busy;
    assert.deepEqual(h.log, []);
  });
});
