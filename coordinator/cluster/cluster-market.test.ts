import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestCoordinator } from '../testing/coordinator.ts';
import { startNats, type NatsServer } from '../testing/nats.ts';
import { testDatabase } from '../testing/postgres.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { collect, contributor, outputHash } from '../testing/peers.ts';
import { onnxJob } from '../testing/fixtures.ts';
import type { RunningCoordinator } from '../server.ts';
import type { ContributorLease } from '../../src/protocol/coordinator.ts';
import type { AuditableLedger } from '../ledger/types.ts';

const CLUSTER_TIMING = { heartbeatMs: 100, ttlMs: 500 };
const OWNERSHIP_TIMING = { heartbeatMs: 100, ttlMs: 600, sweepMs: 200, contributorGraceMs: 3_000 };

describe('market across instances (PostgreSQL store, NATS bus)', () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    await nats.stop();
  });

  async function cluster(n: number) {
    const db = await testDatabase();
    const nodes: RunningCoordinator[] = [];
    for (let i = 0; i < n; i++) {
      nodes.push(
        await startTestCoordinator({
          store: db.url,
          bus: nats.url,
          instanceId: `i${i}`,
          clusterTiming: CLUSTER_TIMING,
          ownershipTiming: OWNERSHIP_TIMING,
          clientGraceMs: 10_000,
        }),
      );
    }
    const peers: MeshTestClient[] = [];
    return {
      nodes,
      peers,
      async stop() {
        for (const p of peers) await p.close().catch(() => {});
        for (const c of nodes) await c.close().catch(() => {});
        await db.drop();
      },
    };
  }

  async function books(ledger: AuditableLedger) {
    const problems = await (ledger as AuditableLedger & { audit(): Promise<string[]> }).audit();
    assert.deepEqual(problems, [], 'the journal replays to the balances');
    const s = await ledger.summary();
    assert.equal(s.total, s.minted, 'sum of balances == minted');
    for (const [account, balance] of Object.entries(s.accounts)) assert.ok(balance >= 0, `${account} is not negative`);
    return s;
  }

  /** What a contributor gained beyond its starter grant (pay from grant-funded escrow stays grant credit). */
  function earned(s: { accounts: Record<string, number> }, peerId: string): number {
    return (s.accounts[`peer:${peerId}`] ?? 0) + (s.accounts[`grant:${peerId}`] ?? 0) - 1000e6;
  }

  /** Claims each lease and has the client pay it; returns the receipts' results. */
  async function runAll(worker: MeshTestClient, client: MeshTestClient, leases: ContributorLease[]) {
    const out = [];
    for (const lease of leases) {
      await worker.claim(lease, outputHash(lease));
      out.push(await client.pay(client.receiptFor(lease, outputHash(lease), 2000)));
    }
    return out;
  }

  it('a client on one instance gets contributors of two others; claims reach the owner; each run paid once', async () => {
    const c = await cluster(3);
    try {
      const [a, b, owner] = c.nodes as [RunningCoordinator, RunningCoordinator, RunningCoordinator];
      const w1 = await contributor(a.url, { maxConcurrent: 3 });
      const w2 = await contributor(b.url, { maxConcurrent: 3 });
      c.peers.push(w1, w2);
      await eventually('both contributors known to the owner', () => owner.market.registry.get(w1.peerId) && owner.market.registry.get(w2.peerId));
      assert.equal(owner.market.registry.get(w1.peerId)!.home, 'i0');
      const client = await MeshTestClient.connect(owner.url);
      c.peers.push(client);
      const { jobId } = await client.submit(onnxJob({ shards: 6, items: 2, bid: 2 }));
      const got1 = await collect(w1, 'assign', 3);
      const got2 = await collect(w2, 'assign', 3);
      assert.deepEqual([...got1, ...got2].map((f) => f.lease.shard).sort(), [0, 1, 2, 3, 4, 5], 'six shards over two homes, none twice');
      const paid = [...await runAll(w1, client, got1.map((f) => f.lease)), ...await runAll(w2, client, got2.map((f) => f.lease))];
      assert.ok(paid.every((p) => p.paid));
      const done = await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      assert.equal(done.type === 'job' && done.status.settled, 6);
      assert.equal((await w1.next('credited')).amount, 2000, 'a remote contributor hears it was paid');
      // The same receipt again, on any instance's ledger: not paid twice.
      const again = await client.pay(client.receiptFor(got1[0]!.lease, outputHash(got1[0]!.lease), 2000));
      assert.equal(again.paid, false);
      const s = await books(owner.ledger as AuditableLedger);
      assert.equal(earned(s, w1.peerId) + earned(s, w2.peerId), 6 * 2000, 'earned: six runs, each paid once');
      assert.equal(owner.market.peek(jobId)?.state, 'done');
    } finally {
      await c.stop();
    }
  });

  it('a contributor at capacity declines leases of another instance; they go back to the queue', async () => {
    const c = await cluster(2);
    try {
      const [home, owner] = c.nodes as [RunningCoordinator, RunningCoordinator];
      const w = await contributor(home.url, { maxConcurrent: 2 });
      c.peers.push(w);
      await eventually('contributor known to the owner', () => owner.market.registry.get(w.peerId));
      // Two clients on the owner race for the contributor's two slots: at most two leases are ever delivered.
      const client = await MeshTestClient.connect(owner.url);
      c.peers.push(client);
      await client.submit(onnxJob({ shards: 5, items: 2, bid: 2 }));
      const first = await collect(w, 'assign', 2);
      await assert.rejects(w.next('assign', 300), 'no third lease while two are out');
      assert.equal(home.market.registry.get(w.peerId)!.load.size, 2);
      await runAll(w, client, first.map((f) => f.lease));
      const more = await collect(w, 'assign', 2, 8000);
      assert.equal(new Set([...first, ...more].map((f) => f.lease.shard)).size, 4);
    } finally {
      await c.stop();
    }
  });

  it('hostile peers and messages: a stolen lease claimed through another home is refused; malformed bus messages are dropped', async () => {
    const c = await cluster(3);
    try {
      const [a, b, owner] = c.nodes as [RunningCoordinator, RunningCoordinator, RunningCoordinator];
      const honest = await contributor(a.url, { maxConcurrent: 2 });
      const thief = await contributor(b.url, { maxConcurrent: 2 });
      c.peers.push(honest, thief);
      await eventually('both known', () => owner.market.registry.get(honest.peerId) && owner.market.registry.get(thief.peerId));
      await thief.request({ type: 'state', state: 'paused' });
      await eventually('the pause is known', () => owner.market.registry.get(thief.peerId)?.state === 'paused');
      const client = await MeshTestClient.connect(owner.url);
      c.peers.push(client);
      await client.submit(onnxJob({ shards: 1, items: 2, bid: 2 }));
      const { lease } = await honest.next('assign');
      // The thief replays the honest contributor's lease through its own home: the owner refuses it.
      await assert.rejects(thief.claim(lease, outputHash(lease)), (err: Error & { code?: string }) => err.code === 'unauthorized' || err.code === 'lease-expired');
      // A claim for a job that runs nowhere: refused without a call to any instance.
      await assert.rejects(thief.claim({ ...lease, jobId: 'j0000', leaseId: 'l0000' }, outputHash(lease)), (err: Error & { code?: string }) => err.code === 'lease-expired');
      // Garbage on the owner's subject and the broadcast subjects: dropped, counted, nothing changes.
      const bus = owner.cluster!.bus;
      const count = (kind: string) => Number(new RegExp(`bus_errors_total\\{kind="${kind}"\\} (\\d+)`).exec(owner.metrics.render())?.[1] ?? 0);
      const before = { decode: count('decode'), handler: count('handler') };
      bus.publish('mkt.i.i2', 'not json');
      bus.publishJson('mkt.i.i2', { t: 'declined', from: 'i0' });
      bus.publishJson('mkt.i.i2', { t: 'req', id: 1, from: 'i9', op: 'surrender-everything', body: null });
      bus.publishJson('mkt.contrib', { t: 'contribs', home: 'i9', seq: 1, rows: [{ peerId: 'mwx' }], gone: [] });
      bus.publishJson('mkt.cred', { t: 'cred', from: 'i9', events: [{ kind: 'agreed', peers: 'all' }] });
      await eventually('malformed messages counted', () => count('decode') >= before.decode + 3 && count('handler') >= before.handler + 1);
      assert.equal(owner.market.registry.get('mwx'), undefined);
      await honest.claim(lease, outputHash(lease));
      assert.equal((await client.pay(client.receiptFor(lease, outputHash(lease), 2000))).paid, true, 'the honest contributor is paid');
    } finally {
      await c.stop();
    }
  });

  it('a client moving to another instance takes its job along; the rest completes there', async () => {
    const c = await cluster(3);
    try {
      const [first, home, second] = c.nodes as [RunningCoordinator, RunningCoordinator, RunningCoordinator];
      const w = await contributor(home.url, { maxConcurrent: 4 });
      c.peers.push(w);
      await eventually('contributor known', () => first.market.registry.get(w.peerId));
      const client = await MeshTestClient.connect(first.url);
      const { jobId } = await client.submit(onnxJob({ shards: 4, items: 2, bid: 2 }));
      const leases = (await collect(w, 'assign', 4)).map((f) => f.lease);
      await runAll(w, client, leases.slice(0, 2));
      await client.close();
      const back = await MeshTestClient.connect(second.url, client.identity);
      c.peers.push(back);
      assert.ok(second.market.job(jobId), 'the job runs on the instance the client came back to');
      assert.equal(first.market.job(jobId), undefined, 'and nowhere else');
      const rest = await runAll(w, back, leases.slice(2));
      assert.ok(rest.every((p) => p.paid), 'leases given out before the move stay valid');
      const done = await back.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done');
      assert.equal(done.type === 'job' && done.status.settled, 4);
      await books(second.ledger as AuditableLedger);
    } finally {
      await c.stop();
    }
  });

  it('an instance that dies mid-job: its client comes back elsewhere and the job finishes; nothing paid twice', async () => {
    const c = await cluster(3);
    try {
      const [doomed, home, survivor] = c.nodes as [RunningCoordinator, RunningCoordinator, RunningCoordinator];
      const w = await contributor(home.url, { maxConcurrent: 4 });
      c.peers.push(w);
      await eventually('contributor known', () => doomed.market.registry.get(w.peerId));
      const client = await MeshTestClient.connect(doomed.url);
      const { jobId } = await client.submit(onnxJob({ shards: 4, items: 2, bid: 2 }));
      const leases = (await collect(w, 'assign', 4)).map((f) => f.lease);
      const early = await runAll(w, client, leases.slice(0, 1));
      assert.ok(early[0]!.paid);
      await w.claim(leases[1]!, outputHash(leases[1]!)); // claimed before the crash, paid after
      await doomed.halt();
      const back = await MeshTestClient.connect(survivor.url, client.identity);
      c.peers.push(back);
      await eventually('the survivor runs the job', () => survivor.market.job(jobId), 8000);
      // The receipt of the run paid before the crash: accepted, not paid again.
      const replay = await back.pay(back.receiptFor(leases[0]!, outputHash(leases[0]!), 2000));
      assert.equal(replay.paid, false);
      assert.equal((await back.pay(back.receiptFor(leases[1]!, outputHash(leases[1]!), 2000))).paid, true);
      const rest = await runAll(w, back, leases.slice(2));
      assert.ok(rest.every((p) => p.paid));
      const done = await back.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done', 8000);
      assert.equal(done.type === 'job' && done.status.settled, 4);
      const s = await books(survivor.ledger as AuditableLedger);
      assert.equal(earned(s, w.peerId), 4 * 2000, 'earned: four runs, each paid once');
    } finally {
      await c.stop();
    }
  });
});
