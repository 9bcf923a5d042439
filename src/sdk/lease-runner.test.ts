/**
 * One lease end to end over a real in-memory peer link: the client's transferLease() against the
 * contributor's LeaseRunner. What cannot exist in Deno stands in: the compute pool (onnxruntime-web runs in
 * browser workers; the stand-in keeps the worker's session contract and doubles its input), the model cache
 * (IndexedDB) and the coordinator (it records the claim).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../core/hash.ts';
import { generateKeyPair, identityFromKeyPair } from '../core/identity.ts';
import { matmulTiles, packTensors } from '../core/sharding.ts';
import type { CoordinatorClient } from '../mesh/coordinator-client.ts';
import { loopbackPair } from '../mesh/loopback.ts';
import { PeerLink } from '../mesh/peer-link.ts';
import type { Lease } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import { RemoteFailure } from '../mesh/lease-inbox.ts';
import type { ShardSpec } from '../protocol/kernel.ts';
import type { PeerFrame } from '../protocol/peer.ts';
import type { TensorData } from '../protocol/tensor.ts';
import type { KernelTask, OnnxTask } from '../protocol/worker.ts';
import type { ModelCache } from '../storage/model-cache.ts';
import { type AssignFrame, LeaseRunner } from './lease-runner.ts';
import { transferLease } from './lease-transfer.ts';
import { packMatmulTile } from './kernels/index.ts';

/** The ONNX worker's contract: sessions by model hash, built from bytes that must match the hash. */
class PoolStandIn {
  readonly sessions = new Set<string>();
  readonly tasks: { modelBytes: number | undefined; deadline: number | undefined }[] = [];
  /** Sessions to drop right before the next run (as the worker's LRU would for another model). */
  evictBeforeRun = false;
  /** Thrown by the next run instead of computing (a fault of the worker or its device). */
  fault: Error | undefined;

  hasOnnxSession(hash: string): Promise<boolean> {
    return Promise.resolve(this.sessions.has(hash));
  }

  async runOnnx(task: OnnxTask, opts: { deadline?: number | undefined } = {}): Promise<TensorData[]> {
    this.tasks.push({ modelBytes: task.model?.byteLength, deadline: opts.deadline });
    const fault = this.fault;
    this.fault = undefined;
    if (fault) throw fault;
    if (this.evictBeforeRun) {
      this.sessions.clear();
      this.evictBeforeRun = false;
    }
    if (!this.sessions.has(task.modelHash)) {
      if (!task.model) throw new MeshError('not-found', `Cannot run ONNX model ${task.modelHash} as this worker holds no session for it and no model bytes were sent`);
      if ((await sha256Hex(task.model)) !== task.modelHash) throw new MeshError('hash-mismatch', `Cannot load ONNX model as its bytes do not hash to ${task.modelHash}`);
      this.sessions.add(task.modelHash);
    }
    const x = new Float32Array(task.inputs[0]!.data);
    return [{ name: 'y', dtype: 'float32', dims: [...task.inputs[0]!.dims], data: x.map((v) => v * 2).buffer }];
  }

  /** The pool's one entry: ONNX tasks go to runOnnx, others are refused. */
  run(task: KernelTask, opts: { deadline?: number | undefined } = {}): Promise<TensorData[]> {
    if (task.kind === 'onnx') return this.runOnnx(task, opts);
    return Promise.reject(new MeshError('internal', `Cannot run a ${task.kind} task as this stand-in runs ONNX tasks only`));
  }
}

/** The IndexedDB model cache's surface, in memory; like the real one, `get` deletes what fails its hash. */
class CacheStandIn {
  readonly models = new Map<string, ArrayBuffer>();
  reads = 0;
  /** Skip the check on read (bytes that went bad after they were read, as the worker would find). */
  trustOnRead = false;
  readonly evicted: string[] = [];
  has(hash: string): Promise<boolean> {
    return Promise.resolve(this.models.has(hash));
  }
  async get(hash: string): Promise<{ hash: string; bytes: ArrayBuffer } | undefined> {
    this.reads++;
    const bytes = this.models.get(hash);
    if (bytes && !this.trustOnRead && (await sha256Hex(bytes)) !== hash) {
      this.models.delete(hash);
      this.evicted.push(hash);
      return undefined;
    }
    return bytes && { hash, bytes: bytes.slice(0) };
  }
  async evictCorrupt(hash: string): Promise<boolean> {
    const bytes = this.models.get(hash);
    if (!bytes || (await sha256Hex(bytes)) === hash) return false;
    this.models.delete(hash);
    this.evicted.push(hash);
    return true;
  }
  put(hash: string, bytes: ArrayBuffer): Promise<boolean> {
    this.models.set(hash, bytes);
    return Promise.resolve(true);
  }
}

const model = new Uint8Array([7, 7, 7, 1, 2, 3]).buffer;

async function setup() {
  const modelHash = await sha256Hex(model);
  const x: TensorData = { name: 'x', dtype: 'float32', dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]).buffer };
  const inputs = packTensors([x]);
  const spec: ShardSpec = {
    index: 0,
    inputs: [{ name: 'x', dtype: 'float32', dims: [2, 2] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: [2] }],
    inputHash: await sha256Hex(inputs),
    workUnits: 2,
  };
  const lease: Lease = { leaseId: 'L1', jobId: 'J1', shard: 0, client: 'mwC', contributor: 'mwK', price: 1, expiresAt: Date.now() + 30_000, replica: false };
  const assign: AssignFrame = { type: 'assign', lease, kernel: { kind: 'onnx', model: { hash: modelHash, bytes: model.byteLength }, outputs: ['y'] }, spec };
  const pool = new PoolStandIn();
  const cache = new CacheStandIn();
  const frames: { type: string; reason?: string }[] = [];
  /** Frames in the order they left: coordinator requests as `coordinator:<type>`, link frames as `link:<type>`. */
  const order: string[] = [];
  const coordinator = { request: (frame: { type: string }) => (frames.push(frame), order.push(`coordinator:${frame.type}`), Promise.resolve({})) };
  const identity = await identityFromKeyPair(await generateKeyPair());
  const [c, k] = loopbackPair('mwSelf');
  const clientLink = new PeerLink(c);
  const contributorLink = new PeerLink(k);
  const runner = new LeaseRunner(
    { pool, cache: cache as unknown as ModelCache, coordinator: coordinator as unknown as CoordinatorClient, identity },
    assign,
    contributorLink,
  );
  // What the contributor answers to `shard` (recorded on its way out; the client reads it as usual).
  const needs: boolean[] = [];
  const send = contributorLink.sendControl.bind(contributorLink);
  contributorLink.sendControl = (frame) => {
    if (frame.type === 'need') needs.push(frame.model);
    order.push(`link:${frame.type}`);
    send(frame);
  };
  /** Runs both sides; resolves with the client's outputs and the contributor's ms. */
  const run = async (sent: ArrayBuffer = inputs) => {
    const ran = runner.run();
    ran.catch(() => {});
    const out = await transferLease(clientLink, lease, { spec, inputs: sent, model, checkOutputs: () => {} }, new AbortController().signal);
    return { out, ms: await ran };
  };
  return { modelHash, lease, pool, cache, frames, order, needs, run };
}

describe('LeaseRunner with transferLease', () => {
  it('answers need=false for a session the worker holds and runs without model bytes or a cache read', async () => {
    const t = await setup();
    t.pool.sessions.add(t.modelHash);
    const { out } = await t.run();
    assert.deepEqual(t.needs, [false]);
    assert.deepEqual(t.pool.tasks.map((x) => x.modelBytes), [undefined]);
    assert.equal(t.cache.reads, 0);
    assert.deepEqual([...new Float32Array(out.outputs![0]!.data)], [2, 4, 6, 8]);
    assert.deepEqual(t.frames.map((f) => f.type), ['result']);
  });

  it('answers need=false for a cached model and hands the cached bytes to the worker', async () => {
    const t = await setup();
    t.cache.models.set(t.modelHash, model.slice(0));
    await t.run();
    assert.deepEqual(t.needs, [false]);
    assert.deepEqual(t.pool.tasks.map((x) => x.modelBytes), [model.byteLength]);
    assert.equal(t.cache.reads, 1);
  });

  it('asks for a model it lacks, then caches what arrived', async () => {
    const t = await setup();
    await t.run();
    assert.deepEqual(t.needs, [true]);
    assert.deepEqual(t.pool.tasks.map((x) => x.modelBytes), [model.byteLength]);
    assert.deepEqual(new Uint8Array(t.cache.models.get(t.modelHash)!), new Uint8Array(model));
  });

  it('sends no outputs and claims nothing when the inputs do not hash to the job\'s', async () => {
    const t = await setup();
    t.pool.sessions.add(t.modelHash);
    const tampered = packTensors([{ data: Float32Array.from([1, 2, 3, 5]) }]);
    await assert.rejects(t.run(tampered), (e: unknown) => e instanceof RemoteFailure && e.code === 'hash-mismatch');
    assert.deepEqual(t.frames, []);
  });

  it('rebuilds a session the worker dropped after need=false from the cache, with the same inputs', async () => {
    const t = await setup();
    t.pool.sessions.add(t.modelHash);
    t.cache.models.set(t.modelHash, model.slice(0));
    t.pool.evictBeforeRun = true;
    const { out } = await t.run();
    assert.deepEqual(t.needs, [false]);
    assert.deepEqual(t.pool.tasks.map((x) => x.modelBytes), [undefined, model.byteLength]);
    assert.deepEqual([...new Float32Array(out.outputs![0]!.data)], [2, 4, 6, 8]);
  });

  it('gives every compute call the lease\'s expiry as its deadline', async () => {
    const t = await setup();
    t.pool.sessions.add(t.modelHash);
    await t.run();
    assert.deepEqual(t.pool.tasks.map((x) => x.deadline), [t.lease.expiresAt]);
  });

  it('deletes a cached model that fails its hash on read and asks the client for it instead', async () => {
    const t = await setup();
    t.cache.models.set(t.modelHash, new Uint8Array(model.byteLength).fill(0xee).buffer);
    const { out } = await t.run();
    assert.deepEqual(t.needs, [true]);
    assert.deepEqual(t.cache.evicted, [t.modelHash]);
    assert.deepEqual(new Uint8Array(t.cache.models.get(t.modelHash)!), new Uint8Array(model));
    assert.deepEqual([...new Float32Array(out.outputs![0]!.data)], [2, 4, 6, 8]);
    assert.deepEqual(t.frames.map((f) => f.type), ['result']);
  });

  it('reports a cached model the worker finds corrupt as cache-corrupt and deletes it', async () => {
    const t = await setup();
    t.cache.trustOnRead = true;
    t.cache.models.set(t.modelHash, new Uint8Array(model.byteLength).fill(0xee).buffer);
    await assert.rejects(t.run(), (e: unknown) => e instanceof RemoteFailure && e.code === 'cache-corrupt');
    assert.deepEqual(t.frames.map((f) => [f.type, f.reason]), [['fail', 'cache-corrupt']]);
    assert.deepEqual(t.cache.evicted, [t.modelHash]);
  });

  for (const [thrown, reason] of [
    [new MeshError('gpu-device-lost', 'Cannot finish GPU work as the device was destroyed'), 'device-lost'],
    [new MeshError('worker-crashed', 'Cannot keep the onnx compute worker as it failed: boom'), 'worker-crashed'],
    [new MeshError('timeout', 'Cannot finish an ONNX inference before its deadline'), 'timeout'],
    [new RangeError('Array buffer allocation failed'), 'out-of-memory'],
  ] as const) {
    it(`reports ${thrown.message.slice(0, 40)}... to the coordinator as '${reason}' before the client hears it`, async () => {
      const t = await setup();
      t.pool.sessions.add(t.modelHash);
      t.pool.fault = thrown;
      await assert.rejects(t.run(), (e: unknown) => e instanceof RemoteFailure && e.code === reason);
      assert.deepEqual(t.frames.map((f) => [f.type, f.reason]), [['fail', reason]]);
      assert.deepEqual(t.order.filter((o) => o !== 'link:need'), ['coordinator:fail', 'link:fail']);
    });
  }
});

/** A matmul lease over a real in-memory link; the pool stand-in computes C on the CPU, one call per row block. */
async function matmulSetup() {
  const m = 130, k = 6, n = 5;
  const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) - 6);
  const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) - 5);
  const [tile] = matmulTiles(m, n, 256);
  const packed = packMatmulTile(a, b, k, n, tile!);
  const spec: ShardSpec = {
    index: 0,
    inputs: packed.inputs,
    outputs: [{ name: 'c', dtype: 'float32', dims: [m, n] }],
    inputHash: await sha256Hex(packed.bytes),
    workUnits: m * n * k,
  };
  const lease: Lease = { leaseId: 'L2', jobId: 'J2', shard: 0, client: 'mwC', contributor: 'mwK', price: 1, expiresAt: Date.now() + 30_000, replica: false };
  const assign: AssignFrame = { type: 'assign', lease, kernel: { kind: 'matmul' }, spec };
  const calls: number[] = [];
  const pool = {
    ...new PoolStandIn(),
    hasOnnxSession: () => Promise.resolve(false),
    run: (task: KernelTask) => {
      if (task.kind !== 'matmul') return Promise.reject(new MeshError('internal', `Cannot run a ${task.kind} task as this stand-in runs matmuls only`));
      const { a: ta, b: tb } = task;
      const [rows] = ta.dims as [number];
      calls.push(rows);
      const A = new Float32Array(ta.data), B = new Float32Array(tb.data), C = new Float32Array(rows * n);
      for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) C[i * n + j]! += A[i * k + p]! * B[p * n + j]!;
      return Promise.resolve([{ name: 'c', dtype: 'float32' as const, dims: [rows, n], data: C.buffer }]);
    },
  };
  const coordinator = { request: () => Promise.resolve({}) };
  const identity = await identityFromKeyPair(await generateKeyPair());
  const [c, kk] = loopbackPair('mwSelf');
  const clientLink = new PeerLink(c);
  const contributorLink = new PeerLink(kk);
  const runner = new LeaseRunner(
    { pool: pool as unknown as PoolStandIn, cache: new CacheStandIn() as unknown as ModelCache, coordinator: coordinator as unknown as CoordinatorClient, identity },
    assign,
    contributorLink,
  );
  const sent: PeerFrame[] = [];
  const send = contributorLink.sendControl.bind(contributorLink);
  /** Replaces a frame the contributor sends (a tampered `done`, say). */
  let tamper = (frame: PeerFrame) => frame;
  contributorLink.sendControl = (frame) => {
    sent.push(frame);
    send(tamper(frame));
  };
  const whole = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) whole[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
  const run = async () => {
    const ran = runner.run();
    ran.catch(() => {});
    const out = await transferLease(clientLink, lease, { spec, inputs: packed.bytes, model: undefined, checkOutputs: () => {} }, new AbortController().signal);
    await ran;
    return out;
  };
  return { run, sent, calls, whole, setTamper: (f: (frame: PeerFrame) => PeerFrame) => (tamper = f) };
}

describe('LeaseRunner streaming a matmul\'s outputs', () => {
  it('sends C block by block, announced without a hash, and the client accepts it only as done.outputHash', async () => {
    const { run, sent, calls, whole } = await matmulSetup();
    const out = await run();
    assert.deepEqual(calls, [65, 65]);
    assert.deepEqual(new Float32Array(out.outputs![0]!.data), whole);
    const blob = sent.find((f) => f.type === 'blob');
    assert.ok(blob && blob.type === 'blob' && blob.what === 'outputs' && blob.sha256 === undefined, JSON.stringify(blob));
    const done = sent.find((f) => f.type === 'done');
    assert.ok(done && done.type === 'done');
    assert.equal(done.outputHash, await sha256Hex(whole));
    assert.equal(out.outputHash, done.outputHash);
    assert.ok(sent.indexOf(blob) < sent.indexOf(done));
  });

  it('rejects streamed outputs with hash-mismatch when they do not hash to done.outputHash', async () => {
    const { run, setTamper } = await matmulSetup();
    setTamper((frame) => (frame.type === 'done' ? { ...frame, outputHash: 'a'.repeat(64) } : frame));
    await assert.rejects(run(), (err) => err instanceof MeshError && err.code === 'hash-mismatch');
  });
});
