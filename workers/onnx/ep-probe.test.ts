// The probe's orchestration against fake ORT sessions (Deno has no onnxruntime-web): which EP wins, what is
// cached, what is abandoned and released, and that concurrent tasks measure once.
import assert from 'node:assert/strict';
import type { OnnxTask } from '../../src/protocol/worker.ts';
import { EpChoices, MemoryEpChoiceStore } from './ep-choice.ts';
import type { AdapterFacts, ProbePolicy } from './ep-policy.ts';
import { runAuto } from './ep-probe.ts';
import { OnnxSessions, type OrtEp, type OrtModule, type SessionEntry } from './sessions.ts';

const HASH = 'd'.repeat(64);
const GPU: AdapterFacts = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'H100', isFallbackAdapter: false };
const SOFT: AdapterFacts = { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FakeEp {
  /** ms of each run; the first run (warm-up) takes `firstMs` when given. */
  ms: number;
  firstMs?: number;
  /** ms of run i (overrides ms and firstMs while it lasts). */
  seq?: number[];
  /** Added to every output value (a wrong GPU kernel). */
  offset?: number;
}

class Counters {
  runs: Record<OrtEp, number> = { wasm: 0, webgpu: 0 };
  creates: Record<OrtEp, number> = { wasm: 0, webgpu: 0 };
  released: OrtEp[] = [];
}

function fakeTensor(type: string, data: Float32Array, dims: readonly number[]) {
  return { type, data, dims, getData: async () => data, dispose: () => {} };
}

function fakeEntry(ep: OrtEp, spec: FakeEp, counters: Counters): SessionEntry {
  let runs = 0;
  const session = {
    inputNames: ['x'],
    outputNames: ['y'],
    async run(feeds: Record<string, { data: Float32Array }>) {
      counters.runs[ep]++;
      const i = runs++;
      await sleep(spec.seq?.[i] ?? (i === 0 && spec.firstMs !== undefined ? spec.firstMs : spec.ms));
      const x = feeds['x']!.data;
      return { y: fakeTensor('float32', x.map((v) => 2 * v + (spec.offset ?? 0)), [x.length]) };
    },
    async release() {
      counters.released.push(ep);
    },
  };
  // webgpu inputs go through a GPU buffer: fake the device ORT would hand out.
  const device = {
    createBuffer: ({ size }: { size: number }) => ({ size, data: new Float32Array(size / 4), destroy() {} }),
    queue: {
      writeBuffer: (b: { data: Float32Array }, _o: number, src: ArrayBuffer) => b.data.set(new Float32Array(src)),
    },
  };
  const ort = {
    Tensor: Object.assign(
      function Tensor(type: string, data: Float32Array, dims: number[]) {
        return fakeTensor(type, data, dims);
      },
      { fromGpuBuffer: (b: { data: Float32Array }, o: { dataType: string; dims: number[] }) => fakeTensor(o.dataType, b.data, o.dims) },
    ),
    env: { webgpu: { device: Promise.resolve(device) } },
  } as unknown as OrtModule;
  return { session: session as unknown as SessionEntry['session'], ort, ep, modelHash: HASH };
}

/** Real OnnxSessions (choices, policy, config) with session creation and the adapter faked. */
function fakeSessions(opts: { adapter: AdapterFacts | undefined; wasm: FakeEp; webgpu: FakeEp; store?: MemoryEpChoiceStore; policy?: Partial<ProbePolicy> }) {
  const counters = new Counters();
  const sessions = new OnnxSessions({ threads: 2 }, {
    choices: new EpChoices(opts.store ?? new MemoryEpChoiceStore()),
    probePolicy: { webgpuWarmupCapMs: 400, ...opts.policy },
  });
  const cache = new Map<OrtEp, SessionEntry>();
  Object.assign(sessions, {
    adapter: async () => opts.adapter,
    loadRuntime: async () => ({}),
    async get(_hash: string, model: ArrayBuffer | undefined, ep: OrtEp): Promise<SessionEntry> {
      const hit = cache.get(ep) ?? (model ? undefined : [...cache.values()][0]);
      if (hit) return hit;
      counters.creates[ep]++;
      const entry = fakeEntry(ep, opts[ep], counters);
      cache.set(ep, entry);
      return entry;
    },
    detach(_hash: string, ep: OrtEp) {
      const entry = cache.get(ep);
      cache.delete(ep);
      return entry ? Promise.resolve(entry) : undefined;
    },
  });
  return { sessions, counters, cache };
}

function task(withModel = true): OnnxTask {
  return {
    modelHash: HASH,
    ...(withModel ? { model: new ArrayBuffer(8) } : {}),
    inputs: [{ name: 'x', dtype: 'float32', dims: [4], data: new Float32Array([1, 2, 3, 4]).buffer }],
    outputNames: ['y'],
  };
}

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const info = console.info;
  console.info = () => {};
  try {
    return await fn();
  } finally {
    console.info = info;
  }
}

Deno.test('runAuto() on a fallback adapter measures wasm only and returns its timed run', async () => {
  const { sessions, counters } = fakeSessions({ adapter: SOFT, wasm: { ms: 20 }, webgpu: { ms: 1 } });
  const run = await quietly(() => runAuto(sessions, task()));
  assert.equal(run.ep, 'wasm');
  assert.deepEqual(Array.from(run.outputs[0]!.data as Float32Array), [2, 4, 6, 8]);
  assert.deepEqual(counters.runs, { wasm: 4, webgpu: 0 }); // warm-up + 3 timed, no extra run
  const { choice } = (await sessions.choices.lookup(epKey(sessions, SOFT)))!;
  assert.equal(choice.ep, 'wasm');
  assert.match(choice.reason, /fallback/);
});

Deno.test('runAuto() reuses the choice: the second task runs once, on the chosen EP, without probing', async () => {
  const { sessions, counters } = fakeSessions({ adapter: GPU, wasm: { ms: 40 }, webgpu: { ms: 5, firstMs: 30 } });
  const first = await quietly(() => runAuto(sessions, task()));
  assert.equal(first.ep, 'webgpu');
  const before = { ...counters.runs };
  const second = await quietly(() => runAuto(sessions, task(false)));
  assert.equal(second.ep, 'webgpu');
  assert.deepEqual(counters.runs, { wasm: before.wasm, webgpu: before.webgpu + 1 });
});

Deno.test('runAuto() picks webgpu when faster and in agreement, and lets the wasm session go', async () => {
  const { sessions, counters } = fakeSessions({ adapter: GPU, wasm: { ms: 40 }, webgpu: { ms: 5, firstMs: 30 } });
  const run = await quietly(() => runAuto(sessions, task()));
  assert.equal(run.ep, 'webgpu');
  assert.deepEqual(Array.from(run.outputs[0]!.data as Float32Array), [2, 4, 6, 8]);
  assert.deepEqual(counters.runs, { wasm: 4, webgpu: 2 });
  await sleep(0);
  assert.deepEqual(counters.released, ['wasm']);
  const { choice } = (await sessions.choices.lookup(epKey(sessions, GPU)))!;
  assert.equal(choice.ep, 'webgpu');
  assert.equal(choice.maxAbsDiff, 0);
  assert.ok(choice.webgpuMs! < choice.wasmMs);
});

Deno.test('runAuto() keeps wasm when faster webgpu outputs disagree beyond the tolerance', async () => {
  const { sessions, counters } = fakeSessions({ adapter: GPU, wasm: { ms: 40 }, webgpu: { ms: 5, offset: 0.01 } });
  const run = await quietly(() => runAuto(sessions, task()));
  assert.equal(run.ep, 'wasm');
  assert.deepEqual(Array.from(run.outputs[0]!.data as Float32Array), [2, 4, 6, 8]);
  assert.deepEqual(counters.released, ['webgpu']);
  const { choice } = (await sessions.choices.lookup(epKey(sessions, GPU)))!;
  assert.match(choice.reason, /disagree/);
  assert.ok(Math.abs(choice.maxAbsDiff! - 0.01) < 1e-6);
});

Deno.test('runAuto() stops waiting for a webgpu warm-up past the cap and releases that session later', async () => {
  const { sessions, counters } = fakeSessions({ adapter: GPU, wasm: { ms: 20 }, webgpu: { ms: 5, firstMs: 600 }, policy: { webgpuWarmupCapMs: 100 } });
  const t0 = performance.now();
  const run = await quietly(() => runAuto(sessions, task()));
  const ms = performance.now() - t0;
  assert.equal(run.ep, 'wasm');
  assert.ok(ms < 400, `probe took ${ms} ms, past the 100 ms cap`);
  assert.deepEqual(counters.released, []); // its warm-up still runs
  await sleep(700);
  assert.deepEqual(counters.released, ['webgpu']);
  const { choice } = (await sessions.choices.lookup(epKey(sessions, GPU)))!;
  assert.match(choice.reason, /100 ms cap/);
});

Deno.test('runAuto() abandons a timed webgpu run once it passes winMargin x the wasm time', async () => {
  const { sessions, counters } = fakeSessions({ adapter: GPU, wasm: { ms: 30 }, webgpu: { ms: 300, firstMs: 10 } });
  const t0 = performance.now();
  const run = await quietly(() => runAuto(sessions, task()));
  assert.equal(run.ep, 'wasm');
  assert.ok(performance.now() - t0 < 250, 'waited for the slow timed run');
  const { choice } = (await sessions.choices.lookup(epKey(sessions, GPU)))!;
  assert.match(choice.reason, /timed run exceeded/);
  assert.equal(choice.webgpuMs, undefined);
  await sleep(350);
  assert.deepEqual(counters.released, ['webgpu']);
});

Deno.test('runAuto() skips webgpu when wasm is already under minWasmMs', async () => {
  const { sessions, counters } = fakeSessions({ adapter: GPU, wasm: { ms: 0 }, webgpu: { ms: 0 } });
  const run = await quietly(() => runAuto(sessions, task()));
  assert.equal(run.ep, 'wasm');
  assert.equal(counters.creates.webgpu, 0);
});

Deno.test('concurrent runAuto() calls for one model probe once', async () => {
  const { sessions, counters } = fakeSessions({ adapter: SOFT, wasm: { ms: 20 }, webgpu: { ms: 1 } });
  const runs = await quietly(() => Promise.all([runAuto(sessions, task()), runAuto(sessions, task()), runAuto(sessions, task())]));
  assert.ok(runs.every((r) => r.ep === 'wasm'));
  assert.equal(counters.creates.wasm, 1);
  assert.equal(counters.runs.wasm, 4 + 2); // one probe (warm-up + 3 timed), then one run per waiting task
});

Deno.test('a new worker over the same store reuses the choice without probing', async () => {
  const store = new MemoryEpChoiceStore();
  const a = fakeSessions({ adapter: GPU, wasm: { ms: 40 }, webgpu: { ms: 5 }, store });
  await quietly(() => runAuto(a.sessions, task()));
  const b = fakeSessions({ adapter: GPU, wasm: { ms: 40 }, webgpu: { ms: 5 }, store });
  const run = await quietly(() => runAuto(b.sessions, task()));
  assert.equal(run.ep, 'webgpu');
  assert.deepEqual(b.counters.runs, { wasm: 0, webgpu: 1 });
});

function epKey(sessions: OnnxSessions, adapter: AdapterFacts): string {
  const parts = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].map((s) => s ?? '');
  return `v1|${HASH}|t${sessions.config.threads}|${parts.join('/')}${adapter.isFallbackAdapter ? '/fallback' : ''}`;
}

Deno.test('the probe times wasm at most wasmRuns times, fewer once wasmBudgetMs is spent, and keeps the fastest', async () => {
  const slow = fakeSessions({ adapter: SOFT, wasm: { ms: 60 }, webgpu: { ms: 1 }, policy: { wasmRuns: 5, wasmBudgetMs: 100 } });
  await quietly(() => runAuto(slow.sessions, task()));
  assert.equal(slow.counters.runs.wasm, 1 + 2); // 60 + 60 ms passes the 100 ms budget
  // Warm-up, then timed runs of 90, 30 and 70 ms: wasm's time is the 30 ms one.
  const varied = fakeSessions({ adapter: SOFT, wasm: { ms: 70, seq: [50, 90, 30] }, webgpu: { ms: 1 }, policy: { wasmRuns: 3, wasmBudgetMs: 10_000 } });
  await quietly(() => runAuto(varied.sessions, task()));
  assert.equal(varied.counters.runs.wasm, 1 + 3);
  const { choice } = (await varied.sessions.choices.lookup(epKey(varied.sessions, SOFT)))!;
  assert.ok(choice.wasmMs >= 29 && choice.wasmMs < 60, String(choice.wasmMs));
});
