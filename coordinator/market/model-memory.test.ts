import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_MODEL_MEMORY_MB } from '../../src/protocol/capabilities.ts';
import type { JobSpec } from '../../src/protocol/coordinator.ts';
import { ONNX_MEMORY_FACTOR } from '../../src/core/kernels/onnx.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { cpuCaps, onnxJob } from '../testing/fixtures.ts';
import { contributor } from '../testing/peers.ts';

/** An ONNX job whose model has `bytes` bytes. */
function modelJob(bytes: number): JobSpec {
  const job = onnxJob({ shards: 1, items: 1 });
  if (job.kernel.kind !== 'onnx') throw new Error('onnxJob must build an ONNX job');
  return { ...job, kernel: { ...job.kernel, model: { ...job.kernel.model, bytes } } };
}

describe('market: a contributor\'s model memory budget', () => {
  it('refuses absurd or hostile budgets at registration, naming the field, and keeps the session up', async () => {
    const c = await startTestCoordinator();
    try {
      const peer = await MeshTestClient.connect(c.url);
      for (const bad of [0, -512, 1.5, MAX_MODEL_MEMORY_MB + 1, 2 ** 60, '512', null, 1e308]) {
        const err = await peer.request({ type: 'register', caps: { ...cpuCaps(), modelMemoryMB: bad as number }, askPrice: 1, maxConcurrent: 1 }).then(
          () => assert.fail(`a budget of ${JSON.stringify(bad)} MiB was accepted`),
          (e: Error & { code?: string }) => e,
        );
        assert.match(err.message, /'caps\.modelMemoryMB'/, `budget ${JSON.stringify(bad)}: ${err.message}`);
      }
      assert.equal(c.market.registry.get(peer.peerId), undefined, 'no refused registration left a contributor behind');
      await peer.request({ type: 'register', caps: { ...cpuCaps(), modelMemoryMB: 512 }, askPrice: 1, maxConcurrent: 1 });
      assert.equal(c.market.registry.get(peer.peerId)?.caps.modelMemoryMB, 512);
    } finally {
      await c.close();
    }
  });

  it('gives no contributor a model bigger than its budget: the job waits saying why, and runs on one whose budget fits', async () => {
    const c = await startTestCoordinator();
    try {
      // 32 MiB of model needs about 4 x 32 = 128 MiB of session memory: more than 64 MiB, less than 256 MiB.
      const bytes = 32 * 2 ** 20;
      assert.equal(ONNX_MEMORY_FACTOR, 4);
      const small = await contributor(c.url, { caps: { ...cpuCaps(), modelMemoryMB: 64 } });
      const client = await MeshTestClient.connect(c.url);
      const { jobId } = await client.submit(modelJob(bytes));
      const f = await client.inbox.next((f) => f.type === 'waiting' && f.jobId === jobId && f.wait !== null, 'waiting push', 3000);
      assert.ok(f.type === 'waiting' && f.wait);
      assert.equal(f.wait.code, 'no-capable');
      assert.equal(f.wait.online, 1);
      assert.equal(f.wait.capable, 0);
      assert.match(f.wait.message, /model needs about 128 MiB of memory .*more than the 64 MiB the contributor allows for models/);
      // A model that fits the small budget goes to it.
      const fits = await client.submit(modelJob(8 * 2 ** 20));
      const lease = (await small.next('assign')).lease;
      assert.equal(lease.jobId, fits.jobId);
      // A contributor with room for the big one joins: the big job's shard goes there, never to the small one.
      const large = await contributor(c.url, { caps: { ...cpuCaps(), modelMemoryMB: 256 } });
      assert.equal((await large.next('assign')).lease.jobId, jobId);
      assert.equal(small.inbox.frames.filter((p) => p.type === 'assign').length, 0);
    } finally {
      await c.close();
    }
  });
});
