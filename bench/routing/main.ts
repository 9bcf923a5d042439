/**
 * `bench routing`: latency-aware matching against latency-blind matching, and the result cache, on the real
 * Market and matcher (bench/routing/sim.ts). Prints one JSON line.
 *
 * Placement: 30 contributors, 10 each at simulated round trips of 5, 50 and 200 ms; 20 jobs of 8 shards run one
 * after another (a latency-sensitive client waiting for each), first with round trips reported (both sides),
 * then on a fresh market without reports (latency-blind). Then 10 jobs with a 20 ms budget: where they ran.
 * Cache: a job of 8 shards of real 256^3 f32 matmuls computed unverified, the same shards computed verified
 * (which records them), then repeated from the cache; each timed from submit to done.
 */
import type { JobSpec } from '../../src/protocol/coordinator.ts';
import { onnxJob } from '../../coordinator/testing/fixtures.ts';
import { type ShardDone, type SimPeer, simMesh } from './sim.ts';

const RTTS = [5, 50, 200];
const PER_TIER = 10;
const JOBS = 20;
const SHARDS = 8;

function peers(seed: number): SimPeer[] {
  let x = seed;
  const rand = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return RTTS.flatMap((rttMs) => Array.from({ length: PER_TIER }, () => ({ id: `p${Math.floor(rand() * 2 ** 32).toString(16)}`, rttMs, store: new Map() })));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function placement(reportRtt: boolean): Promise<ShardDone[]> {
  const mesh = await simMesh(peers(7), { reportRtt, n: 8 });
  const out: ShardDone[] = [];
  for (let j = 0; j < JOBS; j++) out.push(...(await mesh.run(onnxJob({ shards: SHARDS, items: 1, nonce: `j${j}` }))));
  await mesh.close();
  return out;
}

async function budget(): Promise<ShardDone[]> {
  const mesh = await simMesh(peers(7), { reportRtt: true, n: 8 });
  const out: ShardDone[] = [];
  for (let j = 0; j < 10; j++) out.push(...(await mesh.run({ ...onnxJob({ shards: SHARDS, items: 1, nonce: `b${j}` }), latencyMs: 20 })));
  await mesh.close();
  return out;
}

async function cache(): Promise<{ computeMs: number; verifiedMs: number; cachedMs: number; cachedShards: number }> {
  const ps: SimPeer[] = Array.from({ length: 4 }, (_, i) => ({ id: `c${i}`, rttMs: 5, store: new Map() }));
  const mesh = await simMesh(ps, { reportRtt: true, n: 256 });
  const job = (nonce: string, verifyFraction: number): JobSpec => onnxJob({ shards: SHARDS, items: 1, nonce, verifyFraction });
  const time = async (spec: JobSpec) => {
    const t = performance.now();
    const done = await mesh.run(spec);
    return { ms: performance.now() - t, done };
  };
  const compute = await time(job('compute', 0));
  for (const p of ps) p.store.clear(); // the verified run below must compute again
  const verified = await time(job('verified', 1));
  const cached = await time(job('cached', 1));
  await mesh.close();
  return { computeMs: compute.ms, verifiedMs: verified.ms, cachedMs: cached.ms, cachedShards: cached.done.filter((d) => d.cached).length };
}

const aware = await placement(true);
const blind = await placement(false);
const tight = await budget();
const c = await cache();
console.log(JSON.stringify({
  awareMedianMs: median(aware.map((d) => d.ms)),
  blindMedianMs: median(blind.map((d) => d.ms)),
  awareMedianRtt: median(aware.map((d) => d.rttMs)),
  blindMedianRtt: median(blind.map((d) => d.rttMs)),
  budgetShards: tight.length,
  budgetOutside: tight.filter((d) => d.rttMs > 20).length,
  ...c,
}));
