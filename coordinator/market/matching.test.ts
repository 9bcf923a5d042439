import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCoordinator, sleep } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { cpuCaps, gpuCaps, onnxJob, wgslJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';

describe('market: matching through the mesh API', () => {
  it('sends a WGSL job only to a GPU whose buffers fit its shards', async () => {
    const c = await startTestCoordinator();
    try {
      const cpu = await contributor(c.url, { caps: cpuCaps() });
      const small = await contributor(c.url, { caps: gpuCaps(1024) }); // 4 KiB shards do not fit 1 KiB buffers
      const client = await MeshTestClient.connect(c.url);
      await client.submit(wgslJob({ shards: 2, elements: 1024 }));
      await sleep(50);
      assert.equal(cpu.inbox.frames.length + small.inbox.frames.length, 0, 'nobody unfit was assigned');
      const big = await contributor(c.url, { caps: gpuCaps(1 << 20) });
      const assigns = [await big.next('assign'), await big.next('assign')];
      assert.deepEqual(assigns.map((a) => a.kernel.kind), ['wgsl', 'wgsl']);
      assert.deepEqual(assigns[0]!.spec.dispatch, [16, 1, 1]);
      await Promise.all([cpu.close(), small.close(), big.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('gives scarce capacity to the higher bid first, then to the waiting job', async () => {
    const c = await startTestCoordinator();
    try {
      const early = await MeshTestClient.connect(c.url);
      const rich = await MeshTestClient.connect(c.url);
      const cheapJob = await early.submit(onnxJob({ shards: 1, bid: 2 }));
      const richJob = await rich.submit(onnxJob({ shards: 1, bid: 5 }));
      const worker = await contributor(c.url, { maxConcurrent: 1 });
      const first = (await worker.next('assign')).lease;
      assert.equal(first.jobId, richJob.jobId);
      await worker.claim(first, outputHash(first));
      await sleep(50);
      assert.equal(worker.inbox.frames.filter((f) => f.type === 'assign').length, 0, 'a claim holds the slot until it is paid');
      await rich.pay(rich.receiptFor(first, outputHash(first), 2000));
      // Payment frees the slot: the waiting lower bid gets it next.
      const second = (await worker.next('assign')).lease;
      assert.equal(second.jobId, cheapJob.jobId);
      await Promise.all([early.close(), rich.close(), worker.close()]);
    } finally {
      await c.close();
    }
  });

  it('gives the next shard of the same job to a contributor as soon as its claimed run is paid', async () => {
    const c = await startTestCoordinator();
    try {
      const worker = await contributor(c.url, { maxConcurrent: 1 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 2 }));
      const first = (await worker.next('assign')).lease;
      await worker.claim(first, outputHash(first));
      await client.pay(client.receiptFor(first, outputHash(first), 2000));
      const second = (await worker.next('assign')).lease;
      assert.equal(second.shard, 1 - first.shard);
      await Promise.all([worker.close(), client.close()]);
    } finally {
      await c.close();
    }
  });

  it('never leases to a contributor whose ask exceeds the bid', async () => {
    const c = await startTestCoordinator();
    try {
      const greedy = await contributor(c.url, { askPrice: 3 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 1, bid: 2 }));
      await sleep(50);
      assert.equal(greedy.inbox.frames.length, 0);
      await Promise.all([greedy.close(), client.close()]);
    } finally {
      await c.close();
    }
  });
});
