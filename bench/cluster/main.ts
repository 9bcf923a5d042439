/**
 * A coordinator cluster under load, for `npm run bench -- cluster` (bench/cluster.mjs), or alone:
 * `deno run -A bench/cluster/main.ts [--seconds S] [--warmup S] [--repeats N] [--instances 1,2,3] [--rounds N]
 * [--phases throughput,signalling,failover]`; prints one JSON line.
 *
 * Starts a throwaway PostgreSQL and NATS on 127.0.0.1, and coordinator instances as separate processes
 * (instances.ts), a fresh database per phase:
 * 1. throughput.ts: settled runs/s with 1, 2 and 3 instances, the ledger audited after each;
 * 2. signalling.ts: PeerJS relay between two instances against relay within one;
 * 3. failover.ts: kill -9 of a job's instance, until the job moves again on another.
 * Knobs (flags win over the environment): MESHWORK_CLUSTER_SECONDS (measured window of each throughput run,
 * default 5), MESHWORK_CLUSTER_WARMUP (default 3), MESHWORK_CLUSTER_REPEATS (throughput runs per instance
 * count, in mirrored order, default 2), MESHWORK_CLUSTER_INSTANCES, MESHWORK_CLUSTER_ROUNDS (default 10),
 * MESHWORK_CLUSTER_PHASES, MESHWORK_CLUSTER_CONTRIBUTORS and MESHWORK_CLUSTER_CLIENTS (per instance,
 * default 8 and 2), MESHWORK_CLUSTER_WORKERS (load Workers, default 2), MESHWORK_CLUSTER_SIGNAL_SECONDS
 * (each signalling measure, default 3), MESHWORK_CLUSTER_PAIRS (signalling pairs, default 32);
 * MESHWORK_CLUSTER_KEEP=1 keeps the instances' data folders and logs (the path goes to stderr);
 * MESHWORK_CLUSTER_REPORT=FILE also writes the report, indented, to FILE.
 */
import { startNats } from '../../coordinator/testing/nats.ts';
import { startPostgres } from '../../coordinator/testing/postgres.ts';
import { pidsOf } from './cpu.ts';
import { measureThroughput, type ThroughputResult } from './throughput.ts';
import { mirroredOrder, summarize, type ThroughputSummary } from './repeats.ts';
import { measureSignalling, type SignallingResult } from './signalling.ts';
import { measureFailover, type FailoverResult } from './failover.ts';

/** A flag's value (`--flag value`), else the environment variable, else the fallback. */
function knob(flag: string, env: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${flag}`);
  if (i >= 0 && Deno.args[i + 1] !== undefined) return Deno.args[i + 1]!;
  return Deno.env.get(env) || fallback;
}

/** A positive number from a flag or the environment; whole when `whole` (counts). */
function num(flag: string, env: string, fallback: number, whole = false): number {
  const v = Number(knob(flag, env, String(fallback)));
  if (!Number.isFinite(v) || v <= 0 || (whole && !Number.isInteger(v))) {
    throw new RangeError(`Cannot run the cluster bench as '--${flag}' (${env}) must be a positive ${whole ? 'whole ' : ''}number: current value is ${knob(flag, env, '')}`);
  }
  return v;
}

const PHASES = ['throughput', 'signalling', 'failover'];
const phases = new Set(knob('phases', 'MESHWORK_CLUSTER_PHASES', PHASES.join(',')).split(','));
for (const p of phases) {
  if (!PHASES.includes(p)) throw new TypeError(`Cannot run phase '${p}' as it is not one of: ${PHASES.join(', ')}`);
}
const counts = knob('instances', 'MESHWORK_CLUSTER_INSTANCES', '1,2,3').split(',').map(Number);
if (counts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) {
  throw new RangeError(`Cannot run the cluster bench as '--instances' must list whole numbers 1..8: current value is ${counts.join(',')}`);
}
const load = {
  contributorsPerInstance: num('contributors', 'MESHWORK_CLUSTER_CONTRIBUTORS', 8, true),
  clientsPerInstance: num('clients', 'MESHWORK_CLUSTER_CLIENTS', 2, true),
  maxConcurrent: 16,
  shards: 500,
  items: 1,
  bid: 2,
  jobsInFlight: 3,
  workers: num('workers', 'MESHWORK_CLUSTER_WORKERS', 2, true),
  warmupMs: num('warmup', 'MESHWORK_CLUSTER_WARMUP', 3) * 1000,
  measureMs: num('seconds', 'MESHWORK_CLUSTER_SECONDS', 5) * 1000,
};
const repeats = num('repeats', 'MESHWORK_CLUSTER_REPEATS', 2, true);
const rounds = num('rounds', 'MESHWORK_CLUSTER_ROUNDS', 10, true);
const signalMs = num('signal-seconds', 'MESHWORK_CLUSTER_SIGNAL_SECONDS', 3) * 1000;
const pairs = num('pairs', 'MESHWORK_CLUSTER_PAIRS', 32, true);

const started = performance.now();
const dir = await Deno.makeTempDir({ prefix: 'meshwork-bench-cluster-' });
const pg = await startPostgres();
const nats = await startNats();
const pgPort = new URL(pg.url).port;
const place = {
  pgServer: pg.url,
  bus: nats.url,
  dir,
  servers: { postgres: () => pidsOf(`port=${pgPort}`), nats: () => pidsOf(`-p ${nats.port} -js`) },
};
const report: {
  cores: number;
  load: typeof load;
  throughput: ThroughputSummary[];
  throughputRuns: ThroughputResult[];
  signalling?: SignallingResult;
  failover?: FailoverResult;
  seconds?: number;
} = { cores: navigator.hardwareConcurrency, load, throughput: [], throughputRuns: [] };
try {
  if (phases.has('throughput')) {
    for (const n of mirroredOrder(counts, repeats)) report.throughputRuns.push(await measureThroughput(place, n, load));
    report.throughput = summarize(counts, report.throughputRuns);
  }
  if (phases.has('signalling')) report.signalling = await measureSignalling(place, { pairs, ms: signalMs });
  if (phases.has('failover')) report.failover = await measureFailover(place, { rounds });
} finally {
  await nats.stop();
  await pg.stop();
  if (!Deno.env.get('MESHWORK_CLUSTER_KEEP')) await Deno.remove(dir, { recursive: true }).catch(() => {});
  else console.error(`kept ${dir}`);
}
report.seconds = Math.round((performance.now() - started) / 1000);
const problems = [...report.throughputRuns.flatMap((t) => t.ledger.problems), ...(report.failover?.ledger.problems ?? [])];
console.log(JSON.stringify(report));
const saveTo = Deno.env.get('MESHWORK_CLUSTER_REPORT');
if (saveTo) await Deno.writeTextFile(saveTo, JSON.stringify(report, null, 1));
if (problems.length > 0) {
  console.error(`The ledger does not balance: ${JSON.stringify(problems)}`);
  Deno.exit(1);
}
