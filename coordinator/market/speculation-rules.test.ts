/**
 * The rules of speculation.ts at the level of one job, with the real Job, Speculation and matcher: when a job
 * is in its tail, and where a duplicate may go. (speculation.test.ts and speculation-market.test.ts drive the
 * same rules through a running coordinator.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { match, type MatchContributor } from '../../src/core/matcher.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { Job, type Run, type RunRole } from './job.ts';
import { newLease } from './leases.ts';
import { SLOW_FACTOR, Speculation } from './speculation.ts';

const T0 = 1_000_000;

function newJob(shards: number, verified: number[] = []): Job {
  const spec = onnxJob({ shards, items: 1, bid: 2 });
  return new Job('j1', 'client', spec, 1, T0, new Set(verified), 1_000_000, 0.05, 0);
}

function lease(job: Job, i: number, contributor: string, network: string, at: number, role: RunRole = 'primary'): Run {
  const run: Run = { lease: newLease(job, i, contributor, 1, role, 60_000), role, network, startedAt: at, state: 'leased' };
  job.lease(i, run);
  return run;
}

/** Claims a run `ms` after it started and records its time, as the market does. */
function claim(job: Job, spec: Speculation, i: number, run: Run, ms: number): void {
  job.claim(i, run, `h${i}`, 'sig', run.startedAt + ms);
  spec.recordRun(job, ms);
}

/** A 6-shard job: shard 0 stalls on `slow`, shards 1-3 ran in 10 ms each and are done; shards 4 and 5 as given. */
function tail(opts: { place4: boolean; place5: boolean }) {
  const job = newJob(6);
  const spec = new Speculation();
  const stalled = lease(job, 0, 'slow', 'net-slow', T0);
  for (const i of [1, 2, 3]) {
    const r = lease(job, i, 'fast', 'net-fast', T0);
    claim(job, spec, i, r, 10);
    job.finishShard(i, `h${i}`);
  }
  if (opts.place4) lease(job, 4, 'fast', 'net-fast', T0 + 50);
  if (opts.place5) lease(job, 5, 'other', 'net-other', T0 + 50);
  return { job, spec, stalled };
}

function contributorAt(peerId: string, network: string, speed = 100): MatchContributor {
  return {
    peerId,
    network,
    caps: { cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: ['wasm'], gflops: { cpu: 10 } },
    askPrice: 1,
    maxConcurrent: 4,
    load: 0,
    reputation: 1,
    speed,
    credible: true,
  };
}

describe('speculation rules: the tail of a job', () => {
  it('finds no straggler while a shard of the job waits to be placed, however late its leased runs are', () => {
    const { job, spec } = tail({ place4: true, place5: false });
    assert.equal(job.pending.size, 1, 'shard 5 waits for a run');
    assert.equal(spec.median(job), 10);
    const late = T0 + 100 * SLOW_FACTOR * 10;
    const found = spec.find([job], late);
    assert.deepEqual(found.stragglers, [], 'no duplicate before every shard is placed');
    assert.equal(found.nextInMs, undefined, 'and no timer: placing the last shard is an event of its own');
  });

  it('finds the stalled run once every shard is placed, and only the runs past twice the median', () => {
    const { job, spec, stalled } = tail({ place4: true, place5: true });
    assert.equal(job.pending.size, 0);
    // At T0 + 15 nothing is past 2 x 10 ms yet: the next look is when the stalled run (started at T0) becomes one.
    const early = spec.find([job], T0 + 15);
    assert.deepEqual(early.stragglers, []);
    assert.equal(early.nextInMs, 5);
    // The next scan (SCAN_EVERY_MS after the last): shards 4 and 5, started at T0 + 50, are late only from T0 + 70.
    const found = spec.find([job], T0 + 66);
    assert.deepEqual(found.stragglers.map((s) => [s.shard, s.run]), [[0, stalled]], 'shards 4 and 5 are not late yet');
  });

  it('a job of one unplaced shard and nothing else never speculates (no median, no tail)', () => {
    const job = newJob(1);
    const spec = new Speculation();
    assert.deepEqual(spec.find([job], T0 + 1e9).stragglers, []);
  });
});

describe('speculation rules: where a duplicate may go', () => {
  it('never to the straggler itself, nor to a contributor on its network', () => {
    const { job, spec } = tail({ place4: true, place5: true });
    const [s] = spec.find([job], T0 + 1000).stragglers;
    assert.ok(s);
    assert.equal(s.run.lease.contributor, 'slow');
    const self = contributorAt('slow', 'net-slow');
    const neighbour = contributorAt('neighbour', 'net-slow');
    assert.deepEqual(match([s.offer], [self, neighbour]), [], 'the straggler and its network are both refused');
    const elsewhere = contributorAt('elsewhere', 'net-third');
    assert.deepEqual(match([s.offer], [self, neighbour, elsewhere]).map((a) => a.contributor), ['elsewhere']);
  });

  it('a duplicate of a verified primary never lands on the network of the replica it would be compared with', () => {
    const job = newJob(4, [0]);
    const spec = new Speculation();
    const stalled = lease(job, 0, 'slow', 'net-a', T0);
    const replica = lease(job, 0, 'checker', 'net-b', T0, 'replica');
    claim(job, spec, 0, replica, 10);
    for (const i of [1, 2, 3]) {
      const r = lease(job, i, 'fast', 'net-c', T0);
      claim(job, spec, i, r, 10);
      job.finishShard(i, `h${i}`);
    }
    assert.equal(job.pending.size, 0);
    const [s] = spec.find([job], T0 + 1000).stragglers;
    assert.ok(s);
    assert.equal(s.run, stalled);
    // A sibling of the replica's contributor, measured fast and idle, must not produce the result it is checked
    // against: the two agreeing runs of a verified shard come from distinct networks.
    const sibling = contributorAt('sibling', 'net-b', 1e6);
    for (let k = 0; k < 20; k++) assert.deepEqual(match([s.offer], [sibling], { random: () => k / 20 }), []);
    const far = contributorAt('far', 'net-d', 1);
    assert.deepEqual(match([s.offer], [sibling, far]).map((a) => a.contributor), ['far']);
  });

  it('no second duplicate while one is live, and none once the shard holds MAX_RUNS_PER_SHARD payable runs', () => {
    const { job, spec, stalled } = tail({ place4: true, place5: true });
    const twin = lease(job, 0, 'elsewhere', 'net-third', T0 + 500);
    twin.twinOf = stalled.lease.leaseId;
    assert.deepEqual(spec.find([job], T0 + 10_000).stragglers.filter((s) => s.shard === 0), [], 'one live duplicate per shard');

    const v = newJob(4, [0]);
    const vspec = new Speculation();
    lease(v, 0, 'p', 'n1', T0);
    lease(v, 0, 'r', 'n2', T0, 'replica');
    v.addTiebreak(0);
    lease(v, 0, 't', 'n3', T0, 'tiebreak');
    for (const i of [1, 2, 3]) {
      const r = lease(v, i, 'fast', 'n4', T0);
      claim(v, vspec, i, r, 10);
      v.finishShard(i, `h${i}`);
    }
    assert.equal(v.pending.size, 0);
    assert.deepEqual(vspec.find([v], T0 + 10_000).stragglers, [], 'three payable runs: the escrow covers no fourth');
  });
});
