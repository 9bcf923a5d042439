import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeness, ineligibility, match, type MatchContributor, type MatchRun } from './matcher.ts';
import type { KernelSpec } from '../protocol/kernel.ts';

const HASH = 'a'.repeat(64);
const onnx: KernelSpec = { kind: 'onnx', model: { hash: HASH, bytes: 100 }, outputs: ['y'] };

function peer(peerId: string, over: Partial<MatchContributor> = {}): MatchContributor {
  return {
    peerId,
    caps: { cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: ['wasm'], gflops: { cpu: 10 } },
    askPrice: 1, maxConcurrent: 1, load: 0, reputation: 0.5, network: `net-${peerId}`, credible: false, ...over,
  };
}

function run(shard: number, over: Partial<MatchRun> = {}): MatchRun {
  return {
    jobId: 'j1', shard, bid: 2, submittedAt: 1000, seq: 1, kernel: onnx,
    spec: { index: shard, inputs: [{ name: 'x', dtype: 'float32', dims: [4] }], outputs: [{ name: 'y', dtype: 'float32', dims: [4] }], inputHash: HASH, workUnits: 10 },
    exclude: new Set(), role: 'primary', avoidNetworks: new Set(), credibleOnly: false, ...over,
  };
}

const rtt = new Map([['near', 5], ['mid', 50], ['far', 200]]);
const peers = () => [peer('far'), peer('mid'), peer('near')];

describe('matcher latency', () => {
  it('ineligibility() refuses a contributor known to be outside the latency budget', () => {
    assert.match(ineligibility(peer('mid'), run(0, { latencyMs: 20, rtt })) ?? '', /round trip 50 ms exceeds the latency budget 20 ms/);
    assert.equal(ineligibility(peer('near'), run(0, { latencyMs: 20, rtt })), null);
    assert.equal(ineligibility(peer('unknown'), run(0, { latencyMs: 20, rtt })), null, 'an unknown round trip is not excluded');
    assert.equal(ineligibility(peer('far'), run(0, { rtt })), null, 'no budget, no exclusion');
  });

  it('match() places a 20 ms budget job only within it, leaving the rest unplaced', () => {
    const runs = [0, 1, 2].map((i) => run(i, { latencyMs: 20, rtt }));
    const out = match(runs, peers());
    assert.deepEqual(out.map((a) => a.contributor), ['near']);
  });

  it('match() prefers the closer contributor at equal price, speed and reputation', () => {
    const out = match([run(0, { rtt })], peers());
    assert.equal(out[0]!.contributor, 'near');
    const order = match([0, 1, 2].map((i) => run(i, { rtt })), peers()).map((a) => a.contributor);
    assert.deepEqual(order, ['near', 'mid', 'far']);
  });

  it('match() without round trips ranks as before (closeness adds the same to every score)', () => {
    const cheap = peer('b', { askPrice: 1 });
    const dear = peer('a', { askPrice: 2 });
    assert.equal(match([run(0, { bid: 3 })], [dear, cheap])[0]!.contributor, 'b');
  });

  it('closeness() falls with the round trip and rates an unknown one in between', () => {
    assert.ok(closeness(5) > closeness(undefined) && closeness(undefined) > closeness(50) && closeness(50) > closeness(200));
  });
});
