import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataConnection } from 'peerjs';
import { sha256Hex } from '../core/hash.ts';
import { PeerLink, type PullRequest } from '../mesh/peer-link.ts';
import { connPair } from '../mesh/testing/fake-conn.ts';
import { MeshError } from '../protocol/errors.ts';
import { ActivationStore } from './activation-store.ts';
import { ActivationServer, MAX_PULL_RECORDS, MAX_PULLS_PER_PEER, pullOutputs } from './pipe-transfer.ts';

const CLIENT = 'client';
const specs = [{ name: 'h', dtype: 'float32' as const, dims: [2, 3] }];

/** A link pair: `up` keeps outputs and serves pulls; `down` (peer id `downId`) pulls. */
function pair(server: ActivationServer, downId: string): { up: PeerLink; down: PeerLink } {
  const [a, b] = connPair(downId, 'upstream');
  const up = new PeerLink(a as unknown as DataConnection);
  const down = new PeerLink(b as unknown as DataConnection);
  up.addEventListener('pull', (e) => void server.serve((e as CustomEvent<PullRequest>).detail));
  return { up, down };
}

async function stored(store: ActivationStore, leaseId = 'up1'): Promise<string> {
  const bytes = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const outputHash = await sha256Hex(bytes);
  assert.equal(store.put({ leaseId, jobId: 'j0', client: CLIENT, outputHash, bytes, specs }), true);
  return outputHash;
}

async function code(p: Promise<unknown>): Promise<string> {
  return await p.then(() => 'resolved', (e: MeshError) => `${e.code}: ${e.message}`);
}

describe('ActivationStore', () => {
  it('keeps outputs within its byte and entry bounds, oldest out first, and drops them past their age', () => {
    let now = 0;
    const store = new ActivationStore({ maxBytes: 10, maxEntries: 2, ttlMs: 100 }, () => now);
    const put = (leaseId: string, n: number) => store.put({ leaseId, jobId: 'j', client: CLIENT, outputHash: 'h', bytes: new Uint8Array(n), specs: [] });
    assert.equal(put('a', 4), true);
    assert.equal(put('b', 4), true);
    assert.equal(put('c', 4), true); // 12 bytes > 10: 'a' goes
    assert.equal(store.readable('a', CLIENT), undefined);
    assert.equal(store.bytes, 8);
    assert.equal(put('huge', 11), false, 'an output larger than the store is refused, not stored');
    now = 150;
    assert.equal(store.readable('b', CLIENT), undefined, 'too old');
    assert.equal(store.size, 0);
  });

  it('lets the job\'s client and granted peers read, a grant may come first, and forget drops', () => {
    const store = new ActivationStore();
    store.grant('l1', 'down'); // before the output exists
    store.put({ leaseId: 'l1', jobId: 'j', client: CLIENT, outputHash: 'h', bytes: new Uint8Array(4), specs: [] });
    assert.ok(store.readable('l1', 'down'));
    assert.ok(store.readable('l1', CLIENT));
    assert.equal(store.readable('l1', 'stranger'), undefined);
    store.forget(['l1']);
    assert.equal(store.readable('l1', CLIENT), undefined);
    assert.equal(store.bytes, 0);
  });
});

describe('pipeline pulls between peers', () => {
  it('a granted peer pulls the output and checks it against the verdict\'s hash and its inputs', async () => {
    const store = new ActivationStore();
    const server = new ActivationServer(store, 200);
    const outputHash = await stored(store);
    store.grant('up1', 'down');
    const { up, down } = pair(server, 'down');
    const got = await pullOutputs(down, { leaseId: 'up1', outputHash }, [{ name: 'h', dtype: 'float32' }]);
    assert.deepEqual([...new Float32Array(got.bytes)], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(got.specs, specs);
    // The hash the coordinator names is the one that counts: other bytes are a lost source.
    assert.match(await code(pullOutputs(down, { leaseId: 'up1', outputHash: 'f'.repeat(64) })), /^source-lost: .*must hash to f{64}/);
    // Tensors that are not the shard's inputs are refused too.
    assert.match(await code(pullOutputs(down, { leaseId: 'up1', outputHash }, [{ name: 'x', dtype: 'float32' }])), /^source-lost: .*'x'/);
    up.close();
    down.close();
  });

  it('refuses hostile pulls: no grant, unknown lease, replays past the cap, a wrong protocol version', async () => {
    const store = new ActivationStore();
    const server = new ActivationServer(store, 100);
    const outputHash = await stored(store);
    const stranger = pair(server, 'stranger');
    assert.match(await code(pullOutputs(stranger.down, { leaseId: 'up1', outputHash })), /unauthorized|keeps none of them that stranger may read/);
    assert.match(await code(pullOutputs(stranger.down, { leaseId: 'nope', outputHash })), /keeps none of them/);
    // The job's client may read without a grant (it compares replicas), but only so many times.
    const client = pair(server, CLIENT);
    for (let i = 0; i < MAX_PULLS_PER_PEER; i++) assert.equal((await pullOutputs(client.down, { leaseId: 'up1', outputHash })).specs.length, 1);
    assert.match(await code(pullOutputs(client.down, { leaseId: 'up1', outputHash })), /pulled them 4 times/);
    // An old peer's pull frame is answered with a clear failure.
    const inbox = stranger.down.lease('up1');
    stranger.down.sendControl({ type: 'pull', v: 1, leaseId: 'up1' });
    assert.match(await code(inbox.nextFrame('done', 2000)), /must speak protocol/);
    for (const l of [stranger.up, stranger.down, client.up, client.down]) l.close();
  });

  it('a flood of pulls never resets a replay count of a readable output; counts of forgotten outputs make room', async () => {
    assert.equal(MAX_PULL_RECORDS, 1024 * 9, 'one count per kept output and allowed reader');
    const store = new ActivationStore();
    const server = new ActivationServer(store, 100, 2);
    const hash = await stored(store, 'a');
    await stored(store, 'b');
    await stored(store, 'c');
    const client = pair(server, CLIENT);
    for (let i = 0; i < MAX_PULLS_PER_PEER; i++) await pullOutputs(client.down, { leaseId: 'a', outputHash: hash });
    await pullOutputs(client.down, { leaseId: 'b', outputHash: hash });
    assert.equal(server.records, 2);
    // Both counts are live: a third output is refused rather than forgetting the replay count of 'a'.
    assert.match(await code(pullOutputs(client.down, { leaseId: 'c', outputHash: hash })), /rate-limited|pull counts are live/);
    assert.match(await code(pullOutputs(client.down, { leaseId: 'a', outputHash: hash })), /pulled them 4 times/);
    // Once 'b' is forgotten its count goes, and 'c' may be pulled; 'a' stays capped.
    store.forget(['b']);
    assert.equal((await pullOutputs(client.down, { leaseId: 'c', outputHash: hash })).specs.length, 1);
    assert.equal(server.records, 2);
    assert.match(await code(pullOutputs(client.down, { leaseId: 'a', outputHash: hash })), /pulled them 4 times/);
    client.up.close();
    client.down.close();
  });

  it('a malformed pull frame closes the link without touching the store', async () => {
    const store = new ActivationStore();
    await stored(store);
    const { up, down } = pair(new ActivationServer(store, 100), 'down');
    const closed = new Promise<Error | undefined>((resolve) => up.addEventListener('close', (e) => resolve((e as CustomEvent<{ error?: Error }>).detail.error)));
    (down.conn.dataChannel as unknown as { send(s: string): void }).send(JSON.stringify({ type: 'pull', v: 2, leaseId: 'up1', bytes: 1e12 }));
    assert.match(String((await closed)?.message), /bytes/);
    assert.equal(store.size, 1);
    down.close();
  });
});
