import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { reportRtts, rttFromStats } from './rtt-report.ts';

describe('rtt-report', () => {
  it('rttFromStats() reads the selected candidate pair in ms', () => {
    const report = new Map<string, object>([
      ['t', { type: 'transport', selectedCandidatePairId: 'p2' }],
      ['p1', { type: 'candidate-pair', id: 'p1', state: 'succeeded', nominated: true, currentRoundTripTime: 0.5 }],
      ['p2', { type: 'candidate-pair', id: 'p2', state: 'succeeded', nominated: true, currentRoundTripTime: 0.0123 }],
    ]);
    assert.equal(rttFromStats(report as never), 12.3);
  });

  it('rttFromStats() falls back to a succeeded nominated pair and is undefined without a measurement', () => {
    assert.equal(rttFromStats([{ type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.2 }]), 200);
    assert.equal(rttFromStats([{ type: 'candidate-pair', state: 'in-progress' }]), undefined);
    assert.equal(rttFromStats([]), undefined);
  });

  it('reportRtts() reports each open link until it closes', async () => {
    const net = new EventTarget();
    const link = Object.assign(new EventTarget(), {
      remote: 'mw' + '1'.repeat(40),
      conn: { peerConnection: { getStats: () => Promise.resolve([{ type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.005 }]) } },
    });
    const sent: [string, number][] = [];
    const stop = reportRtts(net, (peer, ms) => Promise.resolve(sent.push([peer, ms])), 1, 5);
    net.dispatchEvent(new CustomEvent('link', { detail: link }));
    await new Promise((r) => setTimeout(r, 30));
    link.dispatchEvent(new Event('close'));
    const n = sent.length;
    assert.ok(n >= 2, `measured again while open: ${n}`);
    assert.deepEqual(sent[0], [link.remote, 5]);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sent.length, n, 'nothing after close');
    stop();
  });
});
