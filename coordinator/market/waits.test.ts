import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobWait } from '../../src/protocol/coordinator.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob, wgslJob } from '../testing/fixtures.ts';
import { contributor, outputHash, runAndPay } from '../testing/peers.ts';

/** The next `waiting` push about `jobId` whose wait passes `test`. */
async function nextWait(client: MeshTestClient, jobId: string, test: (w: JobWait | null) => boolean, timeoutMs = 3000): Promise<JobWait | null> {
  const f = await client.inbox.next((f) => f.type === 'waiting' && f.jobId === jobId && test(f.wait), 'waiting push', timeoutMs);
  assert.ok(f.type === 'waiting');
  return f.wait;
}

describe('market: every wait has a reason', () => {
  it('with nobody online the client hears why within 2 s, and the status says so too', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const started = Date.now();
      const { jobId } = await client.submit(onnxJob({ shards: 2 }));
      const wait = await nextWait(client, jobId, (w) => w !== null, 2000);
      assert.ok(Date.now() - started < 2000);
      assert.equal(wait?.code, 'no-contributors');
      assert.equal(wait?.online, 0);
      assert.equal(wait?.waiting, 2);
      assert.match(wait!.message, /No contributor is online/);
      assert.equal(c.market.peek(jobId)?.wait?.code, 'no-contributors');
      // Someone comes: the job runs and the wait is cleared.
      const worker = await contributor(c.url, { maxConcurrent: 4 });
      await worker.next('assign');
      assert.equal(await nextWait(client, jobId, (w) => w === null), null);
    } finally {
      await c.close();
    }
  });

  it('names the lowest ask when the bid is below every ask', async () => {
    const c = await startTestCoordinator();
    try {
      await contributor(c.url, { askPrice: 9 });
      await contributor(c.url, { askPrice: 7 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 1, bid: 3 }));
      const wait = await nextWait(client, jobId, (w) => w !== null);
      assert.equal(wait?.code, 'bid-below-ask');
      assert.equal(wait?.lowestAsk, 7);
      assert.equal(wait?.bid, 3);
      assert.equal(wait?.capable, 2);
      assert.equal(wait?.affordable, 0);
      assert.match(wait!.message, /below the lowest ask \(7 µcredits per work unit\)/);
    } finally {
      await c.close();
    }
  });

  it('says when the contributors online cannot run the kernel at all', async () => {
    const c = await startTestCoordinator();
    try {
      await contributor(c.url); // no GPU
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(wgslJob({ shards: 1 }));
      const wait = await nextWait(client, jobId, (w) => w !== null);
      assert.equal(wait?.code, 'no-capable');
      assert.equal(wait?.online, 1);
      assert.match(wait!.message, /can run this job \(no WebGPU adapter\)/);
    } finally {
      await c.close();
    }
  });

  it('gives busy contributors, the queue position and, once runs were measured, an ETA', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      const first = await client.submit(onnxJob({ shards: 3, items: 1, nonce: 'a' }));
      const second = await client.submit(onnxJob({ shards: 1, items: 1, nonce: 'b' }));
      const ahead = await nextWait(client, second.jobId, (w) => w?.code === 'busy');
      assert.equal(ahead?.position, 2, 'the first job is ahead');
      assert.match(ahead!.message, /1 job is ahead of this one/);
      const own = await nextWait(client, first.jobId, (w) => w?.code === 'busy');
      assert.equal(own?.position, 1);
      assert.equal(own?.waiting, 2);
      const { lease } = await worker.next('assign');
      await new Promise((r) => setTimeout(r, 200));
      await runAndPay(worker, client, lease, 1000);
      const timed = await nextWait(client, first.jobId, (w) => w?.etaMs !== undefined);
      assert.ok(timed!.etaMs! >= 100 && timed!.etaMs! < 10_000, `ETA ${timed!.etaMs} ms from a measured run of ~200 ms`);
    } finally {
      await c.close();
    }
  });

  it('a verified shard with one contributor says it waits for a verifier, then runs unverified and completes', async () => {
    const c = await startTestCoordinator();
    try {
      const only = await contributor(c.url, { maxConcurrent: 2 });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(onnxJob({ shards: 1, items: 1, verifyFraction: 1 }));
      const { lease } = await only.next('assign');
      await only.claim(lease, outputHash(lease));
      const wait = await nextWait(client, jobId, (w) => w?.code === 'verifier' && w.etaMs !== undefined);
      assert.match(wait!.message, /waits for a second contributor, on another network, to verify it. If none comes within \d s, it runs unverified/);
      assert.ok(wait!.etaMs! <= 2000);
      const verdict = await client.next('verdict', 4000);
      assert.equal(verdict.state, 'unverified');
      await client.pay(client.receiptFor(lease, outputHash(lease), 1000));
      const end = await client.inbox.next((f) => f.type === 'job' && f.status.state === 'done', 'job done', 4000);
      assert.ok(end.type === 'job' && end.status.wait === undefined);
    } finally {
      await c.close();
    }
  });

  it("a client cannot send 'waiting' (server push only) and a stranger never hears another's waits", async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const stranger = await MeshTestClient.connect(c.url);
      await assert.rejects(
        stranger.request({ type: 'waiting', jobId: 'x', wait: { code: 'busy' } } as never),
        /type|invalid|unknown/i,
      );
      const { jobId } = await client.submit(onnxJob({ shards: 1 }));
      await nextWait(client, jobId, (w) => w !== null);
      await assert.rejects(stranger.inbox.next((f) => f.type === 'waiting', 'waiting', 1200));
      assert.equal(c.market.peek(jobId)?.state, 'running');
    } finally {
      await c.close();
    }
  });
});
