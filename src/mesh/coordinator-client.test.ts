/**
 * CoordinatorClient against a real coordinator (in-process, port 0, in-memory ledger). Needs network
 * permission for 127.0.0.1; skipped without it (`deno test --allow-all src/mesh`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, identityFromKeyPair } from '../core/identity.ts';
import type { Capabilities } from '../protocol/capabilities.ts';
import { signedText } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
// The counterpart under test is the real coordinator; only this test reaches across the layer boundary.
// eslint-disable-next-line import-x/no-restricted-paths
import { startTestCoordinator } from '../../coordinator/testing/coordinator.ts';
import { CoordinatorClient, type MovedDetail, type PushFrame } from './coordinator-client.ts';

const skip = (globalThis as { Deno?: { permissions: { querySync(d: { name: string }): { state: string } } } }).Deno?.permissions
  .querySync({ name: 'net' }).state !== 'granted';
const identity = async () => identityFromKeyPair(await generateKeyPair());
const caps: Capabilities = { cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: ['wasm'], gflops: { cpu: 10 } };

describe('CoordinatorClient', { skip }, () => {
  it('authenticates with the identity and answers requests by rid', async () => {
    const coord = await startTestCoordinator();
    try {
      const id = await identity();
      const client = await CoordinatorClient.connect(coord.url, id);
      assert.equal(client.welcome.peerId, id.peerId);
      const [a, b] = await Promise.all([
        client.request<{ balance: number }>({ type: 'balance' }),
        client.request<{ peerId: string }>({ type: 'balance' }),
      ]);
      assert.equal(a.balance, client.welcome.balance);
      assert.equal(b.peerId, id.peerId);
      client.close();
    } finally {
      await coord.close();
    }
  });

  it('rejects a refused request with the server error as a MeshError', async () => {
    const coord = await startTestCoordinator();
    try {
      const client = await CoordinatorClient.connect(coord.url, await identity());
      await assert.rejects(client.request({ type: 'job', jobId: 'nope' }), (e: unknown) => e instanceof MeshError && e.code === 'not-found');
      client.close();
      await assert.rejects(client.request({ type: 'balance' }), (e: unknown) => e instanceof MeshError && e.code === 'transfer-failed');
    } finally {
      await coord.close();
    }
  });

  it('raises server pushes as events of their type', async () => {
    const coord = await startTestCoordinator();
    try {
      const contributor = await CoordinatorClient.connect(coord.url, await identity());
      const assigned = new Promise<PushFrame>((resolve) => contributor.addEventListener('assign', (e) => resolve((e as CustomEvent<PushFrame>).detail)));
      await contributor.request({ type: 'register', caps, askPrice: 1, maxConcurrent: 1 });
      const clientId = await identity();
      const client = await CoordinatorClient.connect(coord.url, clientId);
      const job = {
        kernel: { kind: 'onnx' as const, model: { hash: 'a'.repeat(64), bytes: 10 }, outputs: ['y'] },
        shards: [{ index: 0, inputs: [{ name: 'x', dtype: 'float32' as const, dims: [1] }], outputs: [{ name: 'y', dtype: 'float32' as const, dims: [1] }], inputHash: 'b'.repeat(64), workUnits: 1000 }],
        bid: 2, verifyFraction: 0, tolerance: { abs: 0, rel: 0 }, deadlineMs: 60_000, nonce: 'n1',
      };
      await client.request({ type: 'submit', job, signature: await clientId.sign(signedText('job', job)) });
      const push = await assigned;
      assert.equal(push.type === 'assign' && push.lease.client, clientId.peerId);
      contributor.close();
      client.close();
    } finally {
      await coord.close();
    }
  });

  it('reconnects after the coordinator restarts, authenticates again and sends idempotent requests', async () => {
    const first = await startTestCoordinator();
    const port = first.port;
    const client = await CoordinatorClient.connect(first.url, await identity(), { reconnect: { attempts: 8, baseMs: 50, maxMs: 400 } });
    const reconnecting = new Promise((resolve) => client.addEventListener('reconnecting', resolve, { once: true }));
    await first.close();
    await reconnecting;
    assert.equal(client.state, 'reconnecting');
    const lost = client.request({ type: 'balance' });
    const kept = client.request<{ balance: number }>({ type: 'balance' }, { idempotent: true });
    const welcomed = new Promise((resolve) => client.addEventListener('welcome', resolve, { once: true }));
    const second = await startTestCoordinator({ port });
    try {
      await welcomed;
      assert.equal(client.state, 'open');
      assert.equal(typeof (await kept).balance, 'number');
      // Requests made while reconnecting are queued, not lost: both complete.
      assert.ok(await lost);
      client.close();
    } finally {
      await second.close();
    }
  });

  it('connects to the first coordinator of the list that answers', async () => {
    const dead = await startTestCoordinator();
    await dead.close();
    const live = await startTestCoordinator();
    try {
      const client = await CoordinatorClient.connect([dead.url, `${live.url}/`], await identity());
      assert.equal(client.base, live.url);
      assert.equal(client.url, `ws://127.0.0.1:${live.port}/mesh`);
      assert.deepEqual(client.coordinators, [dead.url, live.url]);
      client.close();
      await assert.rejects(CoordinatorClient.connect([dead.url], await identity()), (e: unknown) => e instanceof MeshError && e.code === 'transfer-failed');
      await assert.rejects(CoordinatorClient.connect([dead.url, 'ftp://x'], await identity()), { name: 'TypeError', message: /'coordinators\[1\]'/ });
    } finally {
      await live.close();
    }
  });

  it('when its coordinator dies, moves to the next one of the list: authenticates there, sends idempotent requests there', async () => {
    const [a, b] = await Promise.all([startTestCoordinator(), startTestCoordinator()]);
    try {
      const id = await identity();
      const client = await CoordinatorClient.connect([a.url, b.url], id, { reconnect: { baseMs: 50, maxMs: 400 } });
      assert.equal(client.base, a.url);
      const events: string[] = [];
      for (const type of ['reconnecting', 'welcome', 'moved']) client.addEventListener(type, () => events.push(type));
      const moved = new Promise<MovedDetail>((resolve) => client.addEventListener('moved', (e) => resolve((e as CustomEvent<MovedDetail>).detail)));
      const reconnecting = new Promise((resolve) => client.addEventListener('reconnecting', resolve, { once: true }));
      await a.close();
      await reconnecting;
      const kept = client.request<{ peerId: string }>({ type: 'balance' }, { idempotent: true });
      assert.deepEqual(await moved, { from: a.url, to: b.url });
      assert.deepEqual(events, ['reconnecting', 'welcome', 'moved']);
      assert.equal(client.state, 'open');
      assert.equal(client.base, b.url);
      assert.equal(client.url, `ws://127.0.0.1:${b.port}/mesh`);
      // A fresh session on b with the same identity: b knows the peer now.
      assert.equal(client.welcome.peerId, id.peerId);
      assert.equal((await kept).peerId, id.peerId);
      client.close();
    } finally {
      await b.close();
    }
  });

  it('counts its attempt budget across the list and then gives up', async () => {
    const [a, b] = await Promise.all([startTestCoordinator(), startTestCoordinator()]);
    await b.close();
    const client = await CoordinatorClient.connect([a.url, b.url], await identity(), { reconnect: { attempts: 3, baseMs: 10, maxMs: 20 } });
    const closed = new Promise<Error | undefined>((resolve) => client.addEventListener('close', (e) => resolve((e as CustomEvent<{ error?: Error }>).detail.error)));
    await a.close();
    assert.match((await closed)?.message ?? '', /Cannot reconnect to any of 2 coordinators after 3 attempts/);
    assert.equal(client.state, 'closed');
    assert.equal(client.base, a.url);
  });

  it('gives up after its bounded attempts and reports close', async () => {
    const coord = await startTestCoordinator();
    const client = await CoordinatorClient.connect(coord.url, await identity(), { reconnect: { attempts: 2, baseMs: 10, maxMs: 20 } });
    const closed = new Promise<Error | undefined>((resolve) => client.addEventListener('close', (e) => resolve((e as CustomEvent<{ error?: Error }>).detail.error)));
    await coord.close();
    const err = await closed;
    assert.match(err?.message ?? '', /Cannot reconnect .* after 2 attempts/);
    assert.equal(client.state, 'closed');
  });
});
