import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobSpec, ServerFrame } from '../../src/protocol/coordinator.ts';
import type { MeshError } from '../../src/protocol/errors.ts';
import { PENDING_INPUT_HASH } from '../../src/protocol/pipeline.ts';
import { startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { hashOf, onnxJob, wgslJob } from '../testing/fixtures.ts';
import { collect, contributor } from '../testing/peers.ts';

type Assign = Extract<ServerFrame, { type: 'assign' }>;

/** Stage `stage` of a `stages`-stage pipeline `id`, `shards` micro-batches of 2 items; the cut tensor is 'h<stage>'. */
function stageJob(id: string, stage: number, stages: number, opts: { upstream?: string; shards?: number } = {}): JobSpec {
  const job = onnxJob({ shards: opts.shards ?? 2, items: 2 });
  const output = stage === stages - 1 ? 'y' : `h${stage}`;
  return {
    ...job,
    kernel: { kind: 'onnx', model: { hash: hashOf(`stage-${stage}`), bytes: 4096 }, outputs: [output] },
    shards: job.shards.map((s) => ({
      ...s,
      ...(stage > 0 ? { inputs: [{ name: `h${stage - 1}`, dtype: 'float32' as const, dims: [2] }], inputHash: PENDING_INPUT_HASH } : {}),
      outputs: [{ name: output, dtype: 'float32' as const, dims: [2] }],
    })),
    pipeline: { id, stage, stages, ...(opts.upstream === undefined ? {} : { upstream: opts.upstream }) },
  };
}

/** The next assign (of job `jobId`, if given) any of `peers` received; polls, so no waiter is left behind. */
async function anyAssign(peers: MeshTestClient[], jobId?: string, timeoutMs = 5000): Promise<{ w: MeshTestClient; a: Assign }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const w of peers) {
      const i = w.inbox.frames.findIndex((f) => f.type === 'assign' && (jobId === undefined || f.lease.jobId === jobId));
      if (i >= 0) return { w, a: w.inbox.frames.splice(i, 1)[0] as Assign };
    }
    if (Date.now() > deadline) throw new Error(`No assign${jobId ? ` of ${jobId}` : ''} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function refused(p: Promise<unknown>): Promise<MeshError> {
  return await p.then(() => assert.fail('expected a refusal'), (e) => e as MeshError);
}

/** Claims a lease with `hash` and pays it from `client`. */
async function claimAndPay(worker: MeshTestClient, client: MeshTestClient, a: Assign, hash: string): Promise<void> {
  await worker.claim(a.lease, hash);
  assert.equal((await client.pay(client.receiptFor(a.lease, hash, a.spec.workUnits))).paid, true);
}

describe('market: pipeline stage jobs', () => {
  it('refuses hostile stage jobs: unknown, foreign or mismatched upstreams, wrong shards, a second downstream', async () => {
    const c = await startTestCoordinator();
    try {
      const client = await MeshTestClient.connect(c.url);
      const other = await MeshTestClient.connect(c.url);
      const first = await client.submit(stageJob('p', 0, 3));
      assert.equal((await refused(client.submit(stageJob('p', 1, 3, { upstream: 'jnothere' })))).code, 'not-found');
      assert.equal((await refused(other.submit(stageJob('p', 1, 3, { upstream: first.jobId })))).code, 'unauthorized');
      assert.match((await refused(client.submit(stageJob('q', 1, 3, { upstream: first.jobId })))).message, /must be stage 0 of it/);
      assert.match((await refused(client.submit(stageJob('p', 2, 3, { upstream: first.jobId })))).message, /must be stage 1 of it/);
      assert.match((await refused(client.submit(stageJob('p', 1, 4, { upstream: first.jobId })))).message, /must be stage 0 of it/);
      assert.match((await refused(client.submit(stageJob('p', 1, 3, { upstream: first.jobId, shards: 3 })))).message, /must have 2 shards/);
      const renamed = stageJob('p', 1, 3, { upstream: first.jobId });
      renamed.shards[1]!.inputs[0]!.name = 'x';
      assert.match((await refused(client.submit(renamed))).message, /inputs must be its upstream's outputs \[h0\]/);
      const hashed = stageJob('p', 1, 3, { upstream: first.jobId });
      hashed.shards[0]!.inputHash = hashOf('guess');
      assert.match((await refused(client.submit(hashed))).message, /inputHash' must be 0{64}/);
      const wgsl = { ...wgslJob(), pipeline: { id: 'w', stage: 0, stages: 2 } };
      assert.match((await refused(client.submit(wgsl))).message, /kernel must be 'onnx'/);
      // A plain job is no upstream either.
      const plain = await client.submit(onnxJob());
      assert.match((await refused(client.submit(stageJob('p', 1, 3, { upstream: plain.jobId })))).message, /no pipeline/);

      const second = await client.submit(stageJob('p', 1, 3, { upstream: first.jobId }));
      assert.equal(second.status.state, 'running');
      assert.equal((await refused(client.submit({ ...stageJob('p', 1, 3, { upstream: first.jobId }), nonce: 'again' }))).code, 'conflict');
      // Nothing refused held escrow: the client paid for the three jobs it runs.
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
    } finally {
      await c.close();
    }
  });

  it('places stages apart, pulls peer to peer from the verdict, recomputes a lost output, pays each run once', async () => {
    const c = await startTestCoordinator({ feeRate: 0 });
    try {
      const client = await MeshTestClient.connect(c.url);
      const w0 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const up = await client.submit(stageJob('p', 0, 2));
      const ups = await collect(w0, 'assign', 2);
      for (const a of ups) assert.deepEqual(a.pipe, { keep: true }, 'an intermediate stage keeps its outputs');
      const hashes = ups.map((a) => hashOf(`h0-${a.lease.shard}`));
      for (const [k, a] of ups.entries()) await claimAndPay(w0, client, a, hashes[k]!);
      // Complete, yet open: its next stage is still to come.
      assert.equal(c.market.job(up.jobId)?.state, 'running');

      const w1 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const w2 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const down = await client.submit(stageJob('p', 1, 2, { upstream: up.jobId }));
      // w0 runs stage 0: stage 1 goes elsewhere (w1 or w2), and both micro-batches stay on that one contributor.
      const downs: Assign[] = [];
      const serves: Extract<ServerFrame, { type: 'serve' }>[] = [];
      const placed = await anyAssign([w1, w2], down.jobId);
      const runner = placed.w;
      downs.push(placed.a);
      downs.push((await anyAssign([runner], down.jobId)).a);
      assert.equal(w0.inbox.frames.some((f) => f.type === 'assign'), false, 'the contributor running stage 0 got no stage 1 run');
      downs.sort((a, b) => a.lease.shard - b.lease.shard);
      serves.push(...(await collect(w0, 'serve', 2)));
      for (const a of downs) {
        const src = ups.find((u) => u.lease.shard === a.lease.shard)!;
        assert.deepEqual(a.pipe, { from: { peer: w0.peerId, leaseId: src.lease.leaseId, outputHash: hashes[a.lease.shard] } });
        assert.equal(a.spec.inputHash, hashes[a.lease.shard], 'the coordinator filled the input hash from the upstream verdict');
        assert.ok(serves.some((s) => s.leaseId === src.lease.leaseId && s.peer === runner.peerId), 'the holder may serve exactly that peer');
      }

      // The downstream contributor could not get shard 0's inputs: stage 0's shard 0 is computed again elsewhere.
      const other = runner === w1 ? w2 : w1;
      await runner.fail(downs[0]!.lease, 'source-lost', 'the holder did not answer');
      const again = await other.next('assign');
      assert.equal(again.lease.jobId, up.jobId);
      assert.equal(again.lease.shard, 0);
      await claimAndPay(other, client, again, hashOf('h0-0-again'));
      const retry = await anyAssign([w0, runner, other], down.jobId);
      assert.deepEqual(retry.a.pipe?.from, { peer: other.peerId, leaseId: again.lease.leaseId, outputHash: hashOf('h0-0-again') });
      assert.equal(retry.a.spec.inputHash, hashOf('h0-0-again'));

      // A source-lost report for a lease that pulls nothing (stage 0) is refused; so is one for another's lease.
      const plain = await client.submit(stageJob('r', 0, 2, { shards: 1 }));
      const lone = await anyAssign([w0, runner, other], plain.jobId);
      assert.match((await refused(lone.w.fail(lone.a.lease, 'source-lost'))).message, /pulls no inputs/);
      assert.equal((await refused(client.fail(retry.a.lease, 'source-lost'))).code, 'unauthorized');
      await client.request({ type: 'cancel', jobId: plain.jobId });

      await claimAndPay(retry.w, client, retry.a, hashOf('y-0'));
      await claimAndPay(runner, client, downs[1]!, hashOf('y-1'));
      const done = await client.inbox.next((f) => f.type === 'job' && f.status.jobId === up.jobId && f.status.state === 'done', 'stage 0 done');
      // Stage 0 paid three runs (two micro-batches and one recompute), each once; stage 1 two.
      assert.equal(done.type === 'job' && done.status.spent, 3 * 2000);
      assert.equal(c.market.peek(down.jobId)?.state, 'done');
      assert.equal(c.market.peek(down.jobId)?.spent, 2 * 2000);
      // Holders of intermediate outputs heard they may drop them.
      const forgets = await collect(w0, 'forget', 1);
      assert.ok(forgets[0]!.leaseIds.length >= 1);
      const books = await c.ledger.summary();
      assert.equal(books.total, books.minted);
    } finally {
      await c.close();
    }
  });

  it('recomputes an upstream shard whose only holder left before its next stage was placed', async () => {
    const c = await startTestCoordinator({ feeRate: 0 });
    try {
      const client = await MeshTestClient.connect(c.url);
      const w0 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const up = await client.submit(stageJob('p', 0, 2, { shards: 1 }));
      const [a] = await collect(w0, 'assign', 1);
      await claimAndPay(w0, client, a!, hashOf('h0'));
      await w0.close();
      const w1 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const down = await client.submit(stageJob('p', 1, 2, { upstream: up.jobId, shards: 1 }));
      const recompute = await w1.next('assign');
      assert.deepEqual([recompute.lease.jobId, recompute.lease.shard], [up.jobId, 0]);
      await claimAndPay(w1, client, recompute, hashOf('h0-b'));
      const w2 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const { a: next } = await anyAssign([w1, w2], down.jobId);
      assert.deepEqual(next.pipe?.from, { peer: w1.peerId, leaseId: recompute.lease.leaseId, outputHash: hashOf('h0-b') });
    } finally {
      await c.close();
    }
  });
});

describe('market: pipeline placement after churn', () => {
  it('a stage whose contributors also run other stages still gets its runs (never everyone kept off)', async () => {
    const c = await startTestCoordinator({ feeRate: 0 });
    try {
      const client = await MeshTestClient.connect(c.url);
      const w0 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const up = await client.submit(stageJob('p', 0, 2, { shards: 2 }));
      const ups = await collect(w0, 'assign', 2);
      for (const a of ups) await claimAndPay(w0, client, a, hashOf(`h-${a.lease.shard}`));
      // w0 is the only contributor: stage 1 must share it, and after that w0 runs both stages.
      const down = await client.submit(stageJob('p', 1, 2, { upstream: up.jobId, shards: 2 }));
      const first = await anyAssign([w0], down.jobId);
      await w0.fail(first.a.lease, 'source-lost');
      // Stage 0's shard is computed again; w0 ran it before, so a newcomer does, and then stage 1 runs again.
      const w1 = await contributor(c.url, { askPrice: 1, maxConcurrent: 4 });
      const again = await anyAssign([w1], up.jobId);
      await claimAndPay(w1, client, again.a, hashOf('h-again'));
      const next = await anyAssign([w0, w1], down.jobId);
      assert.ok(next.a.pipe?.from);
    } finally {
      await c.close();
    }
  });
});
