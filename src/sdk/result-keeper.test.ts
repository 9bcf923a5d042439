/**
 * Answering a repeated shard from kept outputs, over a real in-memory peer link: the client's transferLease()
 * against the contributor's LeaseRunner with a ResultKeeper. The compute pool counts its runs (a cached answer
 * must run none) and the IndexedDB store stands in as a map with the real store's checks on read (a record that
 * fails its hash is deleted and reported); the store itself is tested in Chromium (e2e/result-cache.spec.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sha256Hex } from '../core/hash.ts';
import { generateKeyPair, identityFromKeyPair } from '../core/identity.ts';
import { packTensors } from '../core/sharding.ts';
import type { CoordinatorClient } from '../mesh/coordinator-client.ts';
import { RemoteFailure } from '../mesh/lease-inbox.ts';
import { loopbackPair } from '../mesh/loopback.ts';
import { PeerLink } from '../mesh/peer-link.ts';
import type { Lease } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import type { ShardSpec } from '../protocol/kernel.ts';
import type { TensorData, TensorSpec } from '../protocol/tensor.ts';
import type { ModelCache } from '../storage/model-cache.ts';
import type { StoredOutput } from '../storage/result-store.ts';
import { type AssignFrame, LeaseRunner } from './lease-runner.ts';
import { transferLease } from './lease-transfer.ts';
import { type KeeperStore, ResultKeeper } from './result-keeper.ts';

/** An ONNX worker that doubles its input and counts its runs. */
class CountingPool {
  runs = 0;
  hasOnnxSession(): Promise<boolean> {
    return Promise.resolve(true);
  }
  runOnnx(task: { inputs: TensorData[] }): Promise<TensorData[]> {
    this.runs++;
    const x = new Float32Array(task.inputs[0]!.data);
    return Promise.resolve([{ name: 'y', dtype: 'float32', dims: [...task.inputs[0]!.dims], data: x.map((v) => v * 2).buffer }]);
  }
  runWgsl(): Promise<TensorData[]> {
    return Promise.reject(new MeshError('internal', 'Cannot run WGSL in this stand-in'));
  }
  runMatmul(): Promise<TensorData> {
    return Promise.reject(new MeshError('internal', 'Cannot run a matmul in this stand-in'));
  }
}

/** The result store's surface in memory, with its read check: bytes that fail their hash are deleted, reported. */
class StoreStandIn implements KeeperStore {
  readonly bounds = { maxBytes: 1 << 20, maxEntries: 16 };
  readonly records = new Map<string, { outputHash: string; bytes: ArrayBuffer; outputs: TensorSpec[] }>();
  readonly evicted: string[] = [];
  async get(key: string): Promise<StoredOutput | undefined> {
    const r = this.records.get(key);
    if (!r) return undefined;
    if ((await sha256Hex(r.bytes)) !== r.outputHash) {
      this.records.delete(key);
      this.evicted.push(r.outputHash);
      return undefined;
    }
    return { ...r };
  }
  put(key: string, outputHash: string, bytes: ArrayBuffer, outputs: readonly TensorSpec[]): Promise<boolean> {
    this.records.set(key, { outputHash, bytes, outputs: [...outputs] });
    return Promise.resolve(true);
  }
}

async function setup() {
  const x: TensorData = { name: 'x', dtype: 'float32', dims: [2, 2], data: Float32Array.from([1, 2, 3, 4]).buffer };
  const inputs = packTensors([x]);
  const spec: ShardSpec = {
    index: 0,
    inputs: [{ name: 'x', dtype: 'float32', dims: [2, 2] }],
    outputs: [{ name: 'y', dtype: 'float32', dims: [2, 2] }],
    inputHash: await sha256Hex(inputs),
    workUnits: 2,
  };
  const kernel = { kind: 'onnx' as const, model: { hash: 'c'.repeat(64), bytes: 10 }, outputs: ['y'] };
  const pool = new CountingPool();
  const store = new StoreStandIn();
  const frames: { type: string; reason?: string; claim?: { outputHash: string } }[] = [];
  const coordinator = { request: (frame: { type: string }) => (frames.push(frame), Promise.resolve({})) };
  const keeper = new ResultKeeper(store, (outputs) => Promise.resolve(frames.push({ type: 'evicted', reason: outputs.join(',') })));
  const identity = await identityFromKeyPair(await generateKeyPair());
  let n = 0;
  /** Runs one lease (cached: the verified output hash it must answer with) on both sides. */
  const run = async (cached?: string, sent: ArrayBuffer = inputs) => {
    const lease: Lease = { leaseId: `L${++n}`, jobId: 'J1', shard: 0, client: 'mwC', contributor: 'mwK', price: 1, expiresAt: Date.now() + 30_000, replica: false, ...(cached ? { cached } : {}) };
    const assign: AssignFrame = { type: 'assign', lease, kernel, spec };
    const [c, k] = loopbackPair('mwSelf');
    const runner = new LeaseRunner({ pool, cache: {} as ModelCache, coordinator: coordinator as unknown as CoordinatorClient, identity, results: keeper }, assign, new PeerLink(k));
    const ran = runner.run();
    ran.catch(() => {});
    const out = await transferLease(new PeerLink(c), lease, { spec, inputs: sent, model: undefined, checkOutputs: () => {} }, new AbortController().signal);
    return { out, result: await ran, leaseId: lease.leaseId };
  };
  return { pool, store, keeper, frames, run };
}

describe('ResultKeeper with LeaseRunner', () => {
  it('keeps a computed output only once paid, then answers a cached lease without running the kernel', async () => {
    const t = await setup();
    const first = await t.run();
    assert.deepEqual([t.pool.runs, first.result.fromCache], [1, false]);
    assert.equal(t.store.records.size, 0, 'nothing is stored before the payment');
    await t.keeper.credited(first.leaseId);
    assert.equal(t.store.records.size, 1);
    const again = await t.run(first.out.outputHash);
    assert.deepEqual([t.pool.runs, again.result.fromCache], [1, true], 'the kernel did not run again');
    assert.equal(again.out.outputHash, first.out.outputHash);
    assert.deepEqual([...new Float32Array(again.out.outputs![0]!.data)], [2, 4, 6, 8]);
    assert.deepEqual(t.frames.filter((f) => f.type === 'result').map((f) => f.claim?.outputHash), [first.out.outputHash, first.out.outputHash]);
  });

  it('answers from an output claimed but not yet paid, and forgets one whose lease was revoked', async () => {
    const t = await setup();
    const first = await t.run();
    const again = await t.run(first.out.outputHash);
    assert.deepEqual([t.pool.runs, again.result.fromCache], [1, true]);
    t.keeper.dropped(first.leaseId);
    await t.keeper.credited(first.leaseId);
    assert.equal(t.store.records.size, 0, 'a revoked lease\'s output is never stored');
  });

  it("declines a cached lease it no longer keeps with 'not-cached', reported before the client hears it", async () => {
    const t = await setup();
    await assert.rejects(t.run('d'.repeat(64)), (e: unknown) => e instanceof RemoteFailure && e.code === 'not-cached');
    assert.equal(t.pool.runs, 0);
    assert.deepEqual(t.frames.map((f) => [f.type, f.reason]), [['fail', 'not-cached']]);
  });

  it('never serves a stored output that fails its hash: it is deleted, reported, and the lease declined', async () => {
    const t = await setup();
    const first = await t.run();
    await t.keeper.credited(first.leaseId);
    const [record] = [...t.store.records.values()];
    new Float32Array(record!.bytes)[0] = 99; // the disk changed under us
    await assert.rejects(t.run(first.out.outputHash), (e: unknown) => e instanceof RemoteFailure && e.code === 'not-cached');
    assert.deepEqual(t.store.evicted, [first.out.outputHash]);
    assert.equal(t.pool.runs, 1);
  });

  it('answers only a client that presents the inputs: other inputs fail with hash-mismatch and nothing is claimed', async () => {
    const t = await setup();
    const first = await t.run();
    await t.keeper.credited(first.leaseId);
    const other = packTensors([{ data: Float32Array.from([9, 9, 9, 9]).buffer }]);
    await assert.rejects(t.run(first.out.outputHash, other), (e: unknown) => e instanceof MeshError && e.code === 'hash-mismatch');
    assert.equal(t.frames.filter((f) => f.type === 'result').length, 1, 'only the first, computed, claim');
  });

  it('batches eviction reports into evicted frames', async () => {
    const t = await setup();
    t.keeper.evicted(['a'.repeat(64)]);
    t.keeper.evicted(['b'.repeat(64), 'a'.repeat(64)]);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(t.frames, [{ type: 'evicted', reason: `${'b'.repeat(64)},${'a'.repeat(64)}` }]);
    t.keeper.dispose();
  });
});
