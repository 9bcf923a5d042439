import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readContrib, readCred, readDirect, readMoved } from './messages.ts';

const row = {
  peerId: 'mwa',
  home: 'i1',
  caps: { cpu: {} },
  askPrice: 1,
  maxConcurrent: 2,
  state: 'active',
  network: 'loopback',
  placement: 'loopback:mwa',
  registeredAt: 1,
  load: 0,
  unpaid: 0,
};

describe('cluster messages: shapes checked before use', () => {
  it('accepts each well-formed message', () => {
    assert.ok(readDirect({ t: 'req', id: 1, from: 'i1', op: 'claim', body: {} }));
    assert.ok(readDirect({ t: 'res', id: 1, from: 'i1', ok: false, error: { code: 'internal', message: 'x' } }));
    assert.ok(readDirect({ t: 'deliver', from: 'i1', peer: 'mwa', frame: { type: 'revoke', leaseId: 'l', reason: 'r' } }));
    assert.ok(readDirect({ t: 'declined', from: 'i1', leaseId: 'l', reason: 'full' }));
    assert.ok(readDirect({ t: 'ended', from: 'i1', leases: ['l1', 'l2'] }));
    assert.ok(readContrib({ t: 'contribs', home: 'i1', seq: 3, rows: [row], gone: ['mwb'] }));
    assert.ok(readCred({ t: 'cred', from: 'i1', events: [{ kind: 'agreed', peers: ['mwa', 'mwb'] }, { kind: 'speed', peer: 'mwa', workUnits: 1, ms: 2 }] }));
    assert.ok(readMoved({ t: 'moved', from: 'i1', jobId: 'j', owner: 'i2' }));
  });

  it('drops what another version, a bug or a stranger on the bus could send', () => {
    const bad: unknown[] = [
      null,
      'text',
      [],
      { t: 'req', id: -1, from: 'i1', op: 'claim' },
      { t: 'req', id: 1, op: 'claim' },
      { t: 'res', id: 1, from: 'i1', ok: false },
      { t: 'deliver', from: 'i1', peer: 'mwa', frame: 'assign' },
      { t: 'deliver', from: 'i1', peer: '', frame: { type: 'revoke' } },
      { t: 'ended', from: 'i1', leases: Array.from({ length: 10_001 }, (_, i) => `l${i}`) },
      { t: 'ended', from: 'i1', leases: [1] },
      { t: 'declined', from: 'i1', leaseId: 'x'.repeat(300), reason: '' },
      { t: 'nope', from: 'i1' },
    ];
    for (const m of bad) assert.equal(readDirect(m), undefined, JSON.stringify(m)?.slice(0, 80));
    assert.equal(readContrib({ t: 'contribs', home: 'i1', seq: 1, rows: [{ ...row, load: -1 }], gone: [] }), undefined);
    assert.equal(readContrib({ t: 'contribs', home: 'i1', seq: 1, rows: [{ ...row, state: 'busy' }], gone: [] }), undefined);
    assert.equal(readContrib({ t: 'contribs', home: 'i1', seq: 1.5, rows: [], gone: [] }), undefined);
    assert.equal(readCred({ t: 'cred', from: 'i1', events: [{ kind: 'agreed', peers: Array(17).fill('mwa') }] }), undefined);
    assert.equal(readCred({ t: 'cred', from: 'i1', events: [{ kind: 'boost', peer: 'mwa' }] }), undefined);
    assert.equal(readMoved({ t: 'moved', from: 'i1', jobId: 'j' }), undefined);
  });
});
