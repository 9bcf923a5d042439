import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POWER_PREFS, evaluatePower } from './power-policy.ts';

describe('power-policy', () => {
  it('allows work by default, whatever the signals', () => {
    assert.equal(evaluatePower(DEFAULT_POWER_PREFS, { idle: false, battery: { charging: false, level: 0.05 } }).allowed, true);
  });

  it('pause-when-hidden blocks while the page is hidden, before any other rule', () => {
    const prefs = { ...DEFAULT_POWER_PREFS, pauseWhenHidden: true, idleOnly: true };
    assert.deepEqual(evaluatePower(prefs, { idle: true, hidden: true }), { allowed: false, reason: 'paused while the tab is hidden' });
    assert.equal(evaluatePower(prefs, { idle: true, hidden: false }).allowed, true);
    assert.equal(evaluatePower(DEFAULT_POWER_PREFS, { idle: true, hidden: true }).allowed, true);
  });

  it('idle-only blocks while the user is active and allows once idle', () => {
    const prefs = { ...DEFAULT_POWER_PREFS, idleOnly: true };
    assert.deepEqual(evaluatePower(prefs, { idle: false }), { allowed: false, reason: 'waiting until this device is idle' });
    assert.equal(evaluatePower(prefs, { idle: true }).allowed, true);
  });

  it('charging-only blocks on battery power and allows on the charger', () => {
    const prefs = { ...DEFAULT_POWER_PREFS, chargingOnly: true };
    assert.equal(evaluatePower(prefs, { idle: true, battery: { charging: false, level: 1 } }).allowed, false);
    assert.equal(evaluatePower(prefs, { idle: true, battery: { charging: true, level: 0.1 } }).allowed, true);
  });

  it('the battery floor blocks below the floor unless charging, and names both levels', () => {
    const prefs = { ...DEFAULT_POWER_PREFS, batteryFloor: 0.3 };
    const low = evaluatePower(prefs, { idle: true, battery: { charging: false, level: 0.2 } });
    assert.deepEqual(low, { allowed: false, reason: 'battery at 20%, below the 30% floor' });
    assert.equal(evaluatePower(prefs, { idle: true, battery: { charging: true, level: 0.2 } }).allowed, true);
    assert.equal(evaluatePower(prefs, { idle: true, battery: { charging: false, level: 0.5 } }).allowed, true);
  });

  it('battery rules are skipped where battery status is unavailable', () => {
    assert.equal(evaluatePower({ idleOnly: false, chargingOnly: true, batteryFloor: 0.5 }, { idle: true }).allowed, true);
  });

  it('rejects a floor outside [0, 1]', () => {
    assert.throws(() => evaluatePower({ ...DEFAULT_POWER_PREFS, batteryFloor: 30 }, { idle: true }), RangeError);
  });
});
