import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IceWatch, type IceSignal, type WatchedConnection } from './ice-watch.ts';
import type { MeshError } from '../protocol/errors.ts';

/** An RTCPeerConnection stand-in: states are set by the test, calls are recorded. */
class FakePc extends EventTarget {
  iceConnectionState: RTCIceConnectionState = 'new';
  connectionState: RTCPeerConnectionState = 'new';
  signalingState: RTCSignalingState = 'stable';
  currentLocalDescription: RTCSessionDescription | null = null;
  oniceconnectionstatechange: ((ev: Event) => unknown) | null = null;
  onicecandidate: ((ev: RTCPeerConnectionIceEvent) => unknown) | null = null;
  calls: string[] = [];
  config: RTCConfiguration = { iceServers: [], iceTransportPolicy: 'all' };

  ice(state: RTCIceConnectionState): void {
    this.iceConnectionState = state;
    this.oniceconnectionstatechange?.(new Event('iceconnectionstatechange'));
  }
  conn(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
  restartIce(): void {
    this.calls.push('restartIce');
  }
  createOffer(): Promise<RTCSessionDescriptionInit> {
    this.calls.push('createOffer');
    return Promise.resolve({ type: 'offer', sdp: 'v=0 restart' });
  }
  createAnswer(): Promise<RTCSessionDescriptionInit> {
    this.calls.push('createAnswer');
    return Promise.resolve({ type: 'answer', sdp: 'v=0 answer' });
  }
  setLocalDescription(d?: RTCSessionDescriptionInit): Promise<void> {
    this.calls.push(`setLocalDescription:${d?.type}`);
    return Promise.resolve();
  }
  getConfiguration(): RTCConfiguration {
    return this.config;
  }
  setConfiguration(c: RTCConfiguration): void {
    this.config = c;
  }
  candidate(text: string): void {
    const ev = Object.assign(new Event('icecandidate'), { candidate: { candidate: text, toJSON: () => ({ candidate: text }) } });
    this.onicecandidate?.(ev as unknown as RTCPeerConnectionIceEvent);
    this.dispatchEvent(ev);
  }
}

function watch(pc: FakePc, dialer: boolean, deadMs = 40) {
  const sent: IceSignal[] = [];
  const dead: MeshError[] = [];
  const peerjs: RTCIceConnectionState[] = [];
  pc.oniceconnectionstatechange = () => peerjs.push(pc.iceConnectionState);
  const fresh: RTCConfiguration = { iceServers: [{ urls: 'turn:127.0.0.1:3478', username: '2:mwx', credential: 'c' }], iceTransportPolicy: 'relay' };
  const w = new IceWatch(pc as unknown as WatchedConnection, {
    dialer,
    connectionId: 'dc_1',
    remote: 'mwbob',
    deadMs,
    signal: (m) => sent.push(m),
    onDead: (e) => dead.push(e),
    configuration: () => fresh,
  });
  return { w, sent, dead, peerjs };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('IceWatch', () => {
  it('leaves a failure before the first connection to peerjs (the dial fails at once)', async () => {
    const pc = new FakePc();
    const { w, dead, peerjs } = watch(pc, true);
    pc.ice('checking');
    pc.ice('failed');
    await tick(60);
    assert.deepEqual(peerjs, ['checking', 'failed']);
    assert.equal(w.restarts, 0);
    assert.deepEqual(dead, []);
    w.dispose();
  });

  it('restarts ICE once on failure of a connected link, with fresh servers, and signals the offer and candidates', async () => {
    const pc = new FakePc();
    const { w, sent, dead, peerjs } = watch(pc, true, 1000);
    pc.ice('connected');
    pc.ice('disconnected');
    pc.ice('failed');
    await tick();
    assert.deepEqual(peerjs, ['connected', 'disconnected'], "peerjs never sees 'failed' once connected (it would close)");
    assert.deepEqual(pc.calls, ['restartIce', 'createOffer', 'setLocalDescription:offer']);
    assert.equal(pc.config.iceTransportPolicy, 'relay');
    assert.equal(pc.config.iceServers?.[0]?.username, '2:mwx');
    // The offer rides in an ANSWER message: peerjs replaces a connection on a second OFFER.
    assert.deepEqual(sent, [{ type: 'ANSWER', payload: { sdp: { type: 'offer', sdp: 'v=0 restart' }, type: 'data', connectionId: 'dc_1' } }]);
    pc.candidate('candidate:1 1 udp 1 127.0.0.1 50000 typ relay');
    assert.equal(sent[1]?.type, 'CANDIDATE');
    assert.equal((sent[1]?.payload as { connectionId: string }).connectionId, 'dc_1');
    pc.ice('failed');
    await tick();
    assert.equal(w.restarts, 1, 'once per failure');
    // The restart worked: the link lives on, and a later failure may restart again.
    pc.ice('connected');
    await tick(1100);
    assert.deepEqual(dead, []);
    pc.ice('failed');
    await tick();
    assert.equal(w.restarts, 2);
    w.dispose();
  });

  it("restarts when Chromium's connectionState fails while iceConnectionState stays disconnected", async () => {
    const pc = new FakePc();
    const { w, sent } = watch(pc, true, 1000);
    pc.ice('connected');
    pc.conn('connected');
    pc.ice('disconnected');
    pc.conn('disconnected');
    await tick();
    assert.equal(w.restarts, 0);
    pc.conn('failed');
    await tick();
    assert.equal(w.restarts, 1);
    assert.equal(sent[0]?.type, 'ANSWER');
    w.dispose();
  });

  it('closes a link that stays failed or disconnected past the deadline, once', async () => {
    for (const state of ['failed', 'disconnected'] as const) {
      const pc = new FakePc();
      const { w, dead } = watch(pc, true, 40);
      pc.ice('connected');
      pc.ice(state);
      await tick(20);
      assert.equal(dead.length, 0);
      await tick(60);
      assert.equal(dead.length, 1, state);
      assert.equal(dead[0]?.code, 'transfer-failed');
      assert.match(dead[0]!.message, new RegExp(`^Cannot keep the link to mwbob as its ICE state stayed ${state} for 40 ms`));
      pc.ice('failed');
      await tick(60);
      assert.equal(dead.length, 1);
      w.dispose();
    }
  });

  it('the answering side never restarts but answers a restart offer on a negotiated connection', async () => {
    const pc = new FakePc();
    const { w, sent, dead } = watch(pc, false, 1000);
    // The first offer is peerjs's to answer.
    pc.signalingState = 'have-remote-offer';
    pc.dispatchEvent(new Event('signalingstatechange'));
    await tick();
    assert.deepEqual(pc.calls, []);
    pc.signalingState = 'stable';
    pc.currentLocalDescription = { type: 'answer', sdp: 'v=0' } as RTCSessionDescription;
    pc.ice('connected');
    pc.ice('failed');
    await tick();
    assert.equal(w.restarts, 0);
    pc.signalingState = 'have-remote-offer';
    pc.dispatchEvent(new Event('signalingstatechange'));
    await tick();
    assert.deepEqual(pc.calls, ['createAnswer', 'setLocalDescription:answer']);
    assert.deepEqual(sent, [{ type: 'ANSWER', payload: { sdp: { type: 'answer', sdp: 'v=0 answer' }, type: 'data', connectionId: 'dc_1' } }]);
    assert.equal(pc.onicecandidate, null, 'candidates are forwarded by the watch from now on');
    pc.ice('connected');
    assert.deepEqual(dead, []);
    w.dispose();
  });
});
