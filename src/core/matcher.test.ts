import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareRuns, ineligibility, match, type MatchContributor, type MatchRun } from './matcher.ts';
import type { Capabilities, GpuLimits } from '../protocol/capabilities.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';

const HASH = 'a'.repeat(64);
const LIMITS: GpuLimits = {
  maxStorageBufferBindingSize: 1 << 20,
  maxBufferSize: 1 << 20,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 8,
};

function caps(opts: { gpu?: boolean; eps?: ('wasm' | 'webgpu')[]; cpu?: number; gpuGflops?: number } = {}): Capabilities {
  const c: Capabilities = {
    cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true },
    ortEps: opts.eps ?? ['wasm'],
    gflops: { cpu: opts.cpu ?? 10 },
  };
  if (opts.gpu) {
    c.gpu = { vendor: 'v', architecture: 'a', description: 'd', features: [], limits: LIMITS };
    c.gflops.gpu = opts.gpuGflops ?? 100;
  }
  return c;
}

function peer(peerId: string, over: Partial<MatchContributor> = {}): MatchContributor {
  return { peerId, caps: caps(), askPrice: 1, maxConcurrent: 2, load: 0, reputation: 0.5, network: `net-${peerId}`, credible: false, ...over };
}

const onnx: KernelSpec = { kind: 'onnx', model: { hash: HASH, bytes: 100 }, outputs: ['y'] };
const wgsl: KernelSpec = { kind: 'wgsl', source: 'x', entryPoint: 'main', bindings: [{ binding: 0, role: 'input' }, { binding: 1, role: 'output' }] };

function spec(index: number, elements = 16): ShardSpec {
  return {
    index,
    inputs: [{ name: 'x', dtype: 'float32', dims: [elements] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: [elements] }],
    inputHash: HASH,
    workUnits: 10,
  };
}

function run(over: Partial<MatchRun> = {}): MatchRun {
  return {
    jobId: 'j1', shard: 0, bid: 2, submittedAt: 1000, seq: 1, kernel: onnx, spec: spec(0), exclude: new Set(),
    role: 'primary', avoidNetworks: new Set(), credibleOnly: false, ...over,
  };
}

describe('matcher hard constraints', () => {
  it('ineligibility() refuses a WGSL run to a contributor without a GPU', () => {
    assert.match(ineligibility(peer('a'), run({ kernel: wgsl })) ?? '', /no WebGPU adapter/);
    assert.equal(ineligibility(peer('b', { caps: caps({ gpu: true }) }), run({ kernel: wgsl })), null);
  });

  it('ineligibility() refuses a WGSL shard whose buffer exceeds the adapter limit', () => {
    const big = run({ kernel: wgsl, spec: spec(0, (1 << 20) / 4 + 1) });
    assert.match(ineligibility(peer('a', { caps: caps({ gpu: true }) }), big) ?? '', /buffer 'x' of 1048580 bytes exceeds/);
  });

  it('ineligibility() refuses an ONNX run to a contributor without execution providers', () => {
    assert.match(ineligibility(peer('a', { caps: caps({ eps: [] }) }), run()) ?? '', /no ONNX runtime/);
  });

  it('ineligibility() refuses an ask above the bid and an excluded contributor', () => {
    assert.match(ineligibility(peer('a', { askPrice: 3 }), run()) ?? '', /ask 3 exceeds bid 2/);
    assert.match(ineligibility(peer('a'), run({ exclude: new Set(['a']) })) ?? '', /already ran/);
  });

  it('match() leaves a run unassigned when nobody qualifies', () => {
    assert.deepEqual(match([run({ kernel: wgsl })], [peer('cpu-only')]), []);
  });

  it('match() never exceeds maxConcurrent', () => {
    const runs = [0, 1, 2, 3].map((i) => run({ shard: i, spec: spec(i) }));
    const out = match(runs, [peer('a', { maxConcurrent: 2, load: 1 })]);
    assert.equal(out.length, 1);
  });
});

describe('matcher scoring', () => {
  it('match() prefers the cheaper ask at equal speed and reputation', () => {
    const out = match([run()], [peer('dear', { askPrice: 2 }), peer('cheap', { askPrice: 1 })]);
    assert.deepEqual(out.map((a) => [a.contributor, a.price]), [['cheap', 1]]);
  });

  it('match() prefers the faster measured speed at equal price', () => {
    const slow = peer('slow', { caps: caps({ gpu: true }), speed: 10 });
    const fast = peer('fast', { caps: caps({ gpu: true }), speed: 1000 });
    assert.equal(match([run({ kernel: wgsl })], [slow, fast])[0]?.contributor, 'fast');
  });

  it('match() ignores declared GFLOP/s: a claimed 1e9 does not beat a measured fast peer', () => {
    const liar = peer('liar', { caps: caps({ gpu: true, gpuGflops: 1e9 }) });
    const measured = peer('measured', { caps: caps({ gpu: true, gpuGflops: 10 }), speed: 500 });
    const slower = peer('slower', { caps: caps({ gpu: true, gpuGflops: 10 }), speed: 100 });
    // The unmeasured liar is assumed as fast as the lower quartile of measured peers, so the fastest measured one wins.
    assert.equal(match([run({ kernel: wgsl })], [liar, slower, measured])[0]?.contributor, 'measured');
  });

  it('match() prefers the higher reputation and the less loaded contributor', () => {
    assert.equal(match([run()], [peer('low', { reputation: 0.1 }), peer('high', { reputation: 0.9 })])[0]?.contributor, 'high');
    assert.equal(match([run()], [peer('busy', { load: 1 }), peer('idle')])[0]?.contributor, 'idle');
  });

  it('match() spreads runs over contributors as load grows', () => {
    const runs = [0, 1].map((i) => run({ shard: i, spec: spec(i) }));
    const out = match(runs, [peer('a'), peer('b')]);
    assert.deepEqual(new Set(out.map((a) => a.contributor)), new Set(['a', 'b']));
  });
});

describe('matcher replicas and priority', () => {
  it('match() never gives two runs of one shard to the same contributor', () => {
    const out = match([run(), run()], [peer('a', { maxConcurrent: 4 })]);
    assert.equal(out.length, 1);
    const two = match([run(), run()], [peer('a', { maxConcurrent: 4 }), peer('b')]);
    assert.deepEqual(two.map((a) => a.contributor).sort(), ['a', 'b']);
  });

  it('match() gives a replica to a contributor other than the one that ran the shard', () => {
    const out = match([run({ exclude: new Set(['a']) })], [peer('a', { askPrice: 0 }), peer('b')]);
    assert.equal(out[0]?.contributor, 'b');
  });

  it('match() serves the higher bid first when capacity is scarce', () => {
    const low = run({ jobId: 'low', bid: 2, submittedAt: 1 });
    const high = run({ jobId: 'high', bid: 5, submittedAt: 2, seq: 2 });
    const out = match([low, high], [peer('a', { maxConcurrent: 1 })]);
    assert.deepEqual(out.map((a) => a.run.jobId), ['high']);
  });

  it('compareRuns() breaks equal bids by earlier submission', () => {
    const early = run({ jobId: 'early', submittedAt: 1, seq: 5 });
    const late = run({ jobId: 'late', submittedAt: 2, seq: 1 });
    assert.deepEqual([late, early].sort(compareRuns).map((r) => r.jobId), ['early', 'late']);
    const out = match([late, early], [peer('a', { maxConcurrent: 1 })]);
    assert.equal(out[0]?.run.jobId, 'early');
  });
});

describe('matcher verifier placement', () => {
  const verifier = (over: Partial<MatchRun> = {}) => run({ role: 'verifier', ...over });

  it('match() never places a verifier on a network another run of the shard came from', () => {
    const sybil = peer('sybil', { askPrice: 0, network: 'net-x' });
    const honest = peer('honest', { askPrice: 2, network: 'net-y' });
    for (let i = 0; i < 20; i++) {
      const out = match([verifier({ exclude: new Set(['other']), avoidNetworks: new Set(['net-x']) })], [sybil, honest], { random: () => i / 20 });
      assert.equal(out[0]?.contributor, 'honest');
    }
  });

  it('match() draws verifiers at random rather than by ask or speed', () => {
    const peers = ['a', 'b', 'c', 'd'].map((id, i) => peer(id, { askPrice: i === 0 ? 0 : 2, speed: i === 0 ? 1e9 : 1 }));
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(match([verifier()], peers, { random: () => i / 8 })[0]!.contributor);
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c', 'd']);
  });

  it('match() draws only credible verifiers when asked, and leaves the run waiting when none is free', () => {
    const peers = [peer('new1'), peer('trusted', { credible: true }), peer('new2')];
    for (let i = 0; i < 6; i++) {
      assert.equal(match([verifier({ credibleOnly: true })], peers, { random: () => i / 6 })[0]?.contributor, 'trusted');
    }
    assert.deepEqual(match([verifier({ credibleOnly: true })], [peer('new1')]), []);
    assert.equal(match([verifier()], [peer('new1')])[0]?.contributor, 'new1');
  });

  it('match() keeps two verifiers of one shard in one round on distinct networks', () => {
    const peers = [peer('a', { network: 'n1' }), peer('b', { network: 'n1' }), peer('c', { network: 'n2' })];
    const out = match([run({ role: 'primary' }), verifier()], peers, { random: () => 0 });
    assert.equal(out.length, 2);
    const nets = out.map((a) => peers.find((p) => p.peerId === a.contributor)!.network);
    assert.notEqual(nets[0], nets[1]);
  });
});

describe('matcher: pipeline stages', () => {
  it('ineligibility() refuses a model that does not fit the memory a contributor reports', () => {
    const big: KernelSpec = { kind: 'onnx', model: { hash: HASH, bytes: 1 << 30 }, outputs: ['y'] };
    const small = peer('s', { caps: { ...caps(), memoryGiB: 2 } });
    assert.match(ineligibility(small, run({ kernel: big })) ?? '', /more than the contributor's 2 GiB/);
    assert.equal(ineligibility(peer('l', { caps: { ...caps(), memoryGiB: 8 } }), run({ kernel: big })), null);
    assert.equal(ineligibility(peer('u'), run({ kernel: big })), null, 'unknown memory is not held against anyone');
  });

  it('ineligibility() holds a model to the budget a contributor states for models, as well as to its memory', () => {
    const model: KernelSpec = { kind: 'onnx', model: { hash: HASH, bytes: 100 * 2 ** 20 }, outputs: ['y'] };
    const tight = peer('t', { caps: { ...caps(), memoryGiB: 8, modelMemoryMB: 256 } });
    assert.match(ineligibility(tight, run({ kernel: model })) ?? '', /about 400 MiB of memory .*more than the 256 MiB the contributor allows for models/);
    assert.equal(ineligibility(peer('r', { caps: { ...caps(), memoryGiB: 8, modelMemoryMB: 400 } }), run({ kernel: model })), null);
    assert.match(ineligibility(peer('g', { caps: { ...caps(), memoryGiB: 0.25, modelMemoryMB: 4096 } }), run({ kernel: model })) ?? '', /0.25 GiB/, 'a budget never lifts the device limit');
  });

  it('match() follows a job\'s affinity: the warm contributor first, one running another stage last', () => {
    const peers = [peer('a'), peer('b'), peer('c')];
    const affinity = new Map([['a', -0.6], ['c', 0.5]]);
    const got = match([run({ shard: 0, affinity }), run({ shard: 1, affinity }), run({ shard: 2, affinity })], peers);
    assert.deepEqual(got.map((g) => g.contributor), ['c', 'c', 'b']);
  });
});
