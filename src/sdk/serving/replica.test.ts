import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, identityFromKeyPair, verifySignature } from '../../core/identity.ts';
import { signedText } from '../../protocol/coordinator.ts';
import type { TensorData } from '../../protocol/tensor.ts';
import type { KernelTask } from '../../protocol/worker.ts';
import { loopbackPair } from '../../mesh/loopback.ts';
import type { InferRequest } from '../../mesh/peer-link.ts';
import { PeerLink } from '../../mesh/peer-link.ts';
import type { PeerNetwork } from '../../mesh/peer-network.ts';
import type { CoordinatorClient } from '../../mesh/coordinator-client.ts';
import type { ModelCache } from '../../storage/model-cache.ts';
import { RemoteFailure } from '../../mesh/lease-inbox.ts';
import { CREDIT_ITEMS, type ServeAssign, ServeReplica } from './replica.ts';
import { exchange, type PreparedRequest } from './serve-request.ts';
import { sha256Hex } from '../../core/hash.ts';

/** A pool stand-in: y = 2x, item by item; records each run's batch size; each run waits for the test's gate. */
class DoublingPool {
  readonly batches: number[] = [];
  /** Runs that have begun (waiting on the gate or done). */
  started = 0;
  gate: Promise<void> = Promise.resolve();
  async run(task: KernelTask): Promise<TensorData[]> {
    this.started++;
    await this.gate;
    if (task.kind !== 'onnx') throw new Error(`Cannot run a ${task.kind} task in this stand-in`);
    const x = task.inputs[0]!;
    this.batches.push(x.dims[0]!);
    const y = new Float32Array(x.data).map((v) => 2 * v);
    return [{ name: 'y', dtype: 'float32', dims: [...x.dims], data: y.buffer }];
  }
}

/** Resolves once `cond` holds, checking every 5 ms; rejects after `ms`. */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Cannot go on as the condition did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function setup(opts: { payers?: string[]; maxBatch?: number } = {}) {
  const identity = await identityFromKeyPair(await generateKeyPair());
  const pool = new DoublingPool();
  const renewals: unknown[] = [];
  const coordinator = { request: (f: unknown) => (renewals.push(f), Promise.resolve({ expiresAt: Date.now() + 60_000 })) };
  const [c, k] = loopbackPair('mwSelf');
  const clientLink = new PeerLink(c);
  const contributorLink = new PeerLink(k);
  const lease = { leaseId: 'sv1-1', serviceId: 'sv1', client: 'mwSelf', contributor: 'mwSelf', price: 1, expiresAt: Date.now() + 60_000, role: 'replica' as const };
  const assign: ServeAssign = {
    type: 'serve-assign',
    lease,
    kernel: { kind: 'onnx', model: { hash: 'a'.repeat(64), bytes: 4 }, outputs: ['y'] },
    maxBatch: opts.maxBatch ?? 4,
    maxWaitMs: 0,
    payers: opts.payers ?? ['mwSelf'],
    renewMs: 60_000,
  };
  const replica = new ServeReplica(
    { pool, cache: {} as ModelCache, coordinator: coordinator as unknown as CoordinatorClient, identity },
    assign,
    () => Promise.resolve(new ArrayBuffer(4)),
  );
  contributorLink.addEventListener('infer', (e) => replica.accept((e as CustomEvent<InferRequest>).detail.link, (e as CustomEvent<InferRequest>).detail.frame));
  const network = { link: () => Promise.resolve(clientLink) } as unknown as PeerNetwork;
  const request = async (values: number[], items = values.length): Promise<PreparedRequest> => {
    const bytes = new Uint8Array(Float32Array.from(values).buffer);
    return { specs: [{ name: 'x', dtype: 'float32', dims: [items, values.length / items] }], bytes, inputHash: await sha256Hex(bytes), items };
  };
  const done = () => {
    replica.stop('test over');
    clientLink.close();
  };
  return { identity, pool, replica, lease, network, request, done, renewals };
}

describe('ServeReplica', () => {
  it('answers concurrent requests in merged batches, each with its own outputs and a signed answer', async () => {
    const t = await setup();
    let open!: () => void;
    t.pool.gate = new Promise((r) => (open = r));
    const asks = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => t.request([v])));
    const pending = asks.map((r) => exchange(t.network, t.lease, r, 10_000));
    // All six arrive while the first batch waits on the gate: the other requests queue behind it.
    await until(() => t.pool.started === 1 && t.replica.stats.queued >= 2, 5000);
    open();
    const got = await Promise.all(pending);
    for (const [i, g] of got.entries()) {
      assert.equal(g.kind, 'answer');
      if (g.kind !== 'answer') continue;
      assert.deepEqual([...new Float32Array(g.outputs[0]!.data)], [2 * (i + 1)]);
      assert.equal(g.answer.claim.inputHash, asks[i]!.inputHash);
      assert.ok(await verifySignature(t.identity.publicKey, signedText('answer', g.answer.claim), g.answer.signature));
    }
    assert.ok(Math.max(...t.pool.batches) > 1, `batches ${t.pool.batches}`);
    assert.ok(t.pool.batches.every((n) => n <= 4), 'never more than maxBatch items');
    assert.equal(t.pool.batches.reduce((a, b) => a + b, 0), 6);
    t.done();
  });

  it('refuses a non-payer, an oversized or malformed request with a clear error, and runs nothing for them', async () => {
    const stranger = await setup({ payers: ['mwSomeoneElse'] });
    await assert.rejects(exchange(stranger.network, stranger.lease, await stranger.request([1]), 5000), (e: unknown) => e instanceof RemoteFailure && e.code === 'unauthorized');
    stranger.done();
    const t = await setup({ maxBatch: 4 });
    await assert.rejects(exchange(t.network, t.lease, await t.request([1, 2, 3, 4, 5]), 5000), (e: unknown) => e instanceof RemoteFailure && e.code === 'too-large');
    const lying = await t.request([1, 2]);
    lying.specs = [{ name: 'x', dtype: 'float32', dims: [1, 4] }]; // says 16 bytes, sends 8
    await assert.rejects(exchange(t.network, t.lease, lying, 5000), (e: unknown) => e instanceof RemoteFailure && e.code === 'bad-input');
    assert.deepEqual(t.pool.batches, []);
    t.done();
  });

  it('a flood gets busy answers with a retry-after past its queue share; every request is answered or refused, none lost', async () => {
    const t = await setup();
    let open!: () => void;
    t.pool.gate = new Promise((r) => (open = r));
    const asks = await Promise.all(Array.from({ length: 90 }, (_, i) => t.request([i])));
    const pending = asks.map((r) => exchange(t.network, t.lease, r, 20_000));
    await new Promise((r) => setTimeout(r, 100));
    open();
    const got = await Promise.all(pending);
    const busy = got.filter((g) => g.kind === 'busy');
    assert.ok(busy.length > 0, 'some were refused');
    assert.ok(busy.every((g) => g.kind === 'busy' && g.reason === 'client-queue-full' && g.retryAfterMs > 0));
    assert.equal(got.filter((g) => g.kind === 'answer').length + busy.length, 90);
    t.done();
  });

  it('stops answering a payer whose receipts fall behind its credit window, and resumes once credited', async () => {
    const t = await setup({ maxBatch: 8 });
    const eight = await t.request([1, 2, 3, 4, 5, 6, 7, 8]);
    for (let sent = 0; sent < CREDIT_ITEMS; sent += 8) assert.equal((await exchange(t.network, t.lease, eight, 5000)).kind, 'answer');
    const refused = await exchange(t.network, t.lease, eight, 5000);
    assert.deepEqual(refused.kind === 'busy' && refused.reason, 'unpaid');
    t.replica.credited('mwSelf', CREDIT_ITEMS * 1000);
    assert.equal((await exchange(t.network, t.lease, eight, 5000)).kind, 'answer');
    t.done();
  });

  it('stop() sends queued requests elsewhere with busy: closed', async () => {
    const t = await setup({ maxBatch: 1 });
    let open!: () => void;
    t.pool.gate = new Promise((r) => (open = r));
    const pending = await Promise.all([1, 2, 3].map((v) => t.request([v])));
    const answers = pending.map((r) => exchange(t.network, t.lease, r, 5000));
    // The first request runs (held at the gate) and the other two wait in the queue: then the replica stops.
    await until(() => t.pool.started === 1 && t.replica.stats.queued === 2, 5000);
    t.replica.stop('revoked');
    open();
    const got = await Promise.all(answers);
    // Whichever request's inputs arrived first runs and still answers; the two queued ones hear 'closed'.
    const kinds = got.map((g) => (g.kind === 'busy' ? g.reason : g.kind)).sort();
    assert.deepEqual(kinds, ['answer', 'closed', 'closed']);
    t.done();
  });
});
