/**
 * The mesh at scale, in virtual time: `deno run -A bench/sim/sim.ts [--peers N] [--shards N] [--job-shards N]
 * [--churn PER_HOUR] [--trust strangers|trusted] [--seed N]`. Prints one JSON line of results (last line).
 *
 * What is real: the full coordinator market (`Market`: matching rounds through src/core/matcher.ts,
 * credibility-based replication and verification, leases, claims, receipts, speculative duplicates) and the
 * Deno KV ledger in memory. What is simulated: peers (bench/sim/peers.ts), their compute and transfers, the
 * clients' receipts, and time (bench/sim/clock.ts). Jobs are all submitted at t=0 (a batch: makespan is
 * meaningful), each from its own client.
 *
 * Ideal makespan: total work of the jobs / total speed of the peers at the start (stragglers at their real
 * speed), plus one shard's transfer and round trips on a median peer (the pipeline fill).
 */
import { Market } from '../../coordinator/market/market.ts';
import { openLedger } from '../../coordinator/ledger/kv-ledger.ts';
import { createLogger } from '../../coordinator/log.ts';
import { Metrics } from '../../coordinator/metrics.ts';
import { STRANGERS, TRUSTED } from '../../coordinator/market/credibility.ts';
import { DEFAULT_LIMITS } from '../../coordinator/market/admission.ts';
import { onnxJob } from '../../coordinator/testing/fixtures.ts';
import { VirtualClock, realNow } from './clock.ts';
import { SimMesh } from './mesh.ts';
import { seeded } from './peers.ts';

const args = parseArgs(Deno.args);
const PEERS = args.int('peers', 10_000);
const SHARDS = args.int('shards', 1_000_000);
const JOB_SHARDS = Math.min(SHARDS, args.int('job-shards', 1_000));
const ITEMS = args.int('items', 100);
const CHURN = args.num('churn', 0.1);
const TRUST = args.str('trust', 'strangers');
const SEED = args.int('seed', 1);
const WALL_LIMIT_MS = args.int('wall-limit-s', 280) * 1000;

const wallStart = realNow();
const clock = new VirtualClock();
clock.install();
const rand = seeded(SEED);
const workUnits = ITEMS * 1000;
// Starter credits cover a 1,000-shard job's escrow; kept small enough that the minted total stays exact in a double.
const mesh = new SimMesh(clock, rand, { inBytes: ITEMS * 12_288, outBytes: ITEMS * 4_096, clientRttMs: 20, churnPerHour: CHURN, workUnits });
const ledger = mesh.wrapLedger(await openLedger({ path: ':memory:', starterCredits: 1e10 }));
const metrics = new Metrics();
const market = new Market({
  ledger,
  notify: mesh.notify,
  feeRate: 0.05,
  leaseMs: 30 * 60_000,
  claimWindowMs: 60_000,
  replicaWaitMs: 30_000,
  // The operator of a mesh this size raises the global caps on running work; per-client caps stay.
  limits: { ...DEFAULT_LIMITS, maxRunningShards: SHARDS + 1, maxRunningJobs: Math.ceil(SHARDS / JOB_SHARDS) + 1 },
  log: createLogger('silent'),
  metrics,
  trust: TRUST === 'trusted' ? TRUSTED : STRANGERS,
  random: seeded(SEED + 1),
});
mesh.market = market;
clock.wrap = (fn) => mesh.timed(fn);

for (let i = 0; i < PEERS; i++) mesh.join();
await mesh.settle();
const startSpeed = mesh.totalSpeed();
const peers = [...mesh.peers.values()];
const medianPeer = peers.sort((a, b) => a.speed - b.speed)[peers.length >> 1]!;

const submitted = new Map<string, number>();
let totalWork = 0;
for (let j = 0, left = SHARDS; left > 0; j++) {
  const n = Math.min(JOB_SHARDS, left);
  left -= n;
  const client = `client${j}`;
  await ledger.ensureAccount(client);
  const spec = { ...onnxJob({ shards: n, items: ITEMS, bid: 2, nonce: `sim-${SEED}-${j}` }), deadlineMs: 24 * 3_600_000 };
  const { jobId } = await mesh.timed(() => market.submit(client, spec, 1000));
  submitted.set(jobId, clock.now);
  totalWork += n * workUnits;
}

let steps = 0;
let truncated = false;
while (mesh.jobDone.size < submitted.size) {
  await mesh.settle();
  if (!clock.step()) {
    await mesh.settle();
    if (clock.peek() === undefined) break;
  }
  if (Deno.env.get('SIM_TRACE') && steps % 2048 === 0) {
    const free = market.registry.forMatching();
    console.error(JSON.stringify({ t: Math.round((clock.now - clock.epoch) / 1000), assigns: mesh.stats.assigns, settled: mesh.stats.settled, credible: market.credibility.credibleCount, freeContributors: free.length, freeCredible: free.filter((c) => c.credible).length, wallS: Math.round((realNow() - wallStart) / 1000) }));
  }
  if (++steps % 256 === 0 && realNow() - wallStart > WALL_LIMIT_MS) {
    truncated = true;
    break;
  }
}
await mesh.settle();

const t0 = clock.epoch;
const makespanMs = Math.max(...mesh.jobDone.values(), clock.now) - t0;
const transferMs = 1.5 * medianPeer.rttMs + (ITEMS * 12_288 / medianPeer.downBps + ITEMS * 4_096 / medianPeer.upBps) * 1000 + 20;
const idealMs = (totalWork / startSpeed) * 1000 + transferMs;
if (Deno.env.get('SIM_TRACE')) console.error('jobDone', [...mesh.jobDone.values()].map((v) => Math.round((v - t0) / 1000)), 'now', Math.round((clock.now - t0) / 1000));
const latencies = [...mesh.jobDone.entries()].map(([id, at]) => at - submitted.get(id)!).sort((a, b) => a - b);
const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
const coordinatorMs = mesh.stats.cpuMs + mesh.stats.ledgerMs;
const ops = mesh.stats.assigns + mesh.stats.settled;
const summary = await ledger.summary();
clock.uninstall();

const result = {
  engine: 'full Market + KV ledger (:memory:)',
  peers: PEERS,
  shards: SHARDS,
  jobs: submitted.size,
  jobsDone: mesh.jobDone.size,
  truncated,
  trust: TRUST,
  churnPerHour: CHURN,
  workUnitsPerShard: workUnits,
  makespanS: makespanMs / 1000,
  idealS: idealMs / 1000,
  makespanRatio: makespanMs / idealMs,
  executedWorkRatio: mesh.stats.workDone / totalWork,
  jobLatencyP50S: pct(0.5) / 1000,
  jobLatencyP99S: pct(0.99) / 1000,
  latencyRatio: pct(0.99) / pct(0.5),
  assigns: mesh.stats.assigns,
  settled: mesh.stats.settled,
  speculative: metrics.get('speculative_runs'),
  matchRounds: metrics.get('match_rounds'),
  credibleAtEnd: market.credibility.credibleCount,
  matchOffers: metrics.get('match_offers'),
  revokes: mesh.stats.revokes,
  joins: mesh.stats.joins - PEERS,
  leaves: mesh.stats.leaves,
  coordinatorCpuMs: Math.round(coordinatorMs),
  marketCpuMs: Math.round(mesh.stats.cpuMs),
  ledgerMs: Math.round(mesh.stats.ledgerMs),
  usPerOp: (coordinatorMs * 1000) / ops,
  opsPerSec: ops / (coordinatorMs / 1000),
  ledgerBalanced: summary.total === summary.minted,
  wallS: (realNow() - wallStart) / 1000,
};
await market.shutdown();
console.log(JSON.stringify(result));
Deno.exit(0);

function parseArgs(argv: string[]) {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new TypeError(`Cannot parse argument as a flag: current value is '${a}'`);
    const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) as [string, string] : [a.slice(2), argv[++i] ?? ''];
    m.set(k, v);
  }
  const num = (k: string, d: number) => {
    const v = m.has(k) ? Number(m.get(k)) : d;
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`Cannot use --${k} as it must be a non-negative number: current value is ${m.get(k)}`);
    return v;
  };
  return { num, int: (k: string, d: number) => Math.floor(num(k, d)), str: (k: string, d: string) => m.get(k) ?? d };
}
