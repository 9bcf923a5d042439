import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PREFS, loadPrefs, savePrefs } from './contributor-prefs.ts';

function memoryStorage(): Pick<Storage, 'getItem' | 'setItem'> {
  const m = new Map<string, string>();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
}

describe('contributor-prefs', () => {
  it('loadPrefs() gives the defaults, without consent, when nothing is saved', () => {
    assert.deepEqual(loadPrefs(memoryStorage()), DEFAULT_PREFS);
    assert.equal(loadPrefs(undefined).consent, false);
  });

  it('savePrefs() then loadPrefs() round-trips every field', () => {
    const s = memoryStorage();
    const prefs = { consent: true, contributing: true, cpuCap: 0.5, gpuCap: 0.75, askPrice: 3, idleOnly: true, chargingOnly: true, batteryFloor: 0.3 };
    savePrefs(s, prefs);
    assert.deepEqual(loadPrefs(s), prefs);
  });

  it('loadPrefs() remembers contributing only together with consent', () => {
    const s = memoryStorage();
    s.setItem('meshwork.contributor.v1', JSON.stringify({ consent: false, contributing: true }));
    assert.equal(loadPrefs(s).contributing, false);
    s.setItem('meshwork.contributor.v1', JSON.stringify({ consent: true, contributing: true }));
    assert.equal(loadPrefs(s).contributing, true);
  });

  it('loadPrefs() clamps out-of-range caps and ignores malformed fields and JSON', () => {
    const s = memoryStorage();
    s.setItem('meshwork.contributor.v1', JSON.stringify({ consent: 'yes', cpuCap: 7, gpuCap: 0, askPrice: 'x', batteryFloor: -1 }));
    const p = loadPrefs(s);
    assert.equal(p.consent, false);
    assert.equal(p.cpuCap, 1);
    assert.equal(p.gpuCap, 0.05);
    assert.equal(p.askPrice, DEFAULT_PREFS.askPrice);
    assert.equal(p.batteryFloor, 0);
    s.setItem('meshwork.contributor.v1', '{not json');
    assert.deepEqual(loadPrefs(s), DEFAULT_PREFS);
  });
});
