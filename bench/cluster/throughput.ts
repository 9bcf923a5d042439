/**
 * Phase 1: settled runs per second with N coordinator instances on one PostgreSQL database. Every instance
 * serves its own contributors and clients; each client's jobs are owned by its instance and matched to
 * contributors anywhere in the cluster (an `assign` for a contributor of another instance travels over the bus
 * to its home; its claim travels back to the owner). The load runs in a few Workers of this process
 * (load-worker.ts), so signing is spread over threads; counting starts after a warm-up and lasts a fixed
 * window. After the window the load drains, the instances stop and the ledger is audited.
 */
import { cpuBetween, type CpuGroups, type CpuUse, readCpu } from './cpu.ts';
import { freshDatabase, type Instance, logsOf, startInstances } from './instances.ts';
import { checkLedger, type LedgerReport } from './ledger-check.ts';
import type { FromWorker, LoadPlan, ToWorker, WorkerStats } from './load-protocol.ts';
import { type PgWaits, sampleWaits } from './pg-waits.ts';
import { counterDelta, rowsWritten, scrapeCounters } from './scrape.ts';
import { quantile, round, sleep } from './stats.ts';
import { workerInbox } from './worker-inbox.ts';

/** The load of one phase. */
export interface ThroughputLoad {
  contributorsPerInstance: number;
  clientsPerInstance: number;
  maxConcurrent: number;
  shards: number;
  items: number;
  bid: number;
  jobsInFlight: number;
  workers: number;
  warmupMs: number;
  measureMs: number;
}

/** Where the phase runs. */
export interface ThroughputPlace {
  pgServer: string;
  bus: string;
  dir: string;
  /** CPU groups of the shared servers (PostgreSQL, NATS). */
  servers: CpuGroups;
}

/** What a phase measured. */
export interface ThroughputResult {
  instances: number;
  settledPerSec: number;
  assignsPerSec: number;
  claimsPerSec: number;
  claimMs: { p50: number; p99: number };
  payMs: { p50: number; p99: number };
  totals: WorkerStats['total'];
  errors: Record<string, number>;
  cpu: CpuUse;
  /** CPU milliseconds per settled run, per group (cores / settled runs per second). */
  cpuMsPerRun: Record<string, number>;
  pg: PgWaits;
  /** The instances' counters that moved during the window, summed over instances. */
  counters: Record<string, number>;
  /** Rows written per table over the whole phase, per settled run. */
  rowsPerSettled: Record<string, number>;
  ledger: LedgerReport;
  logs: { warn: number; error: number; samples: string[] };
  /** Wall time of the phase, start-up to audit. */
  seconds: number;
}

/** Runs the phase with `n` instances. */
export async function measureThroughput(place: ThroughputPlace, n: number, load: ThroughputLoad): Promise<ThroughputResult> {
  const started = performance.now();
  const store = await freshDatabase(place.pgServer, `tp${n}`);
  const instances = await startInstances({ store, bus: place.bus, dir: place.dir }, n);
  let stats: WorkerStats[];
  let cpu: CpuUse;
  let pg: PgWaits;
  let counters: Record<string, number>;
  try {
    ({ stats, cpu, pg, counters } = await runLoad(place, instances, load));
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
  }
  const sum = (f: (s: WorkerStats) => number) => stats.reduce((a, s) => a + f(s), 0);
  const totals = Object.fromEntries(Object.keys(stats[0]!.total).map((k) => [k, sum((s) => s.total[k as keyof WorkerStats['total']])])) as WorkerStats['total'];
  const errors: Record<string, number> = {};
  for (const s of stats) for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
  const claimMs = stats.flatMap((s) => s.claimMs);
  const payMs = stats.flatMap((s) => s.payMs);
  const seconds = load.measureMs / 1000;
  const settledPerSec = round(sum((s) => s.window.settled) / seconds, 1);
  return {
    instances: n,
    settledPerSec,
    assignsPerSec: round(sum((s) => s.window.assigns) / seconds, 1),
    claimsPerSec: round(sum((s) => s.window.claims) / seconds, 1),
    claimMs: { p50: round(quantile(claimMs, 0.5)), p99: round(quantile(claimMs, 0.99)) },
    payMs: { p50: round(quantile(payMs, 0.5)), p99: round(quantile(payMs, 0.99)) },
    totals,
    errors,
    cpu,
    cpuMsPerRun: Object.fromEntries(Object.entries(cpu.cores).map(([g, c]) => [g, round((c * 1000) / Math.max(1, settledPerSec), 3)])),
    pg,
    counters,
    rowsPerSettled: Object.fromEntries(Object.entries(await rowsWritten(store)).map(([t, n]) => [t, round(n / Math.max(1, totals.settled))])),
    ledger: await checkLedger(store, totals.paidFees),
    logs: await logsOf(instances),
    seconds: round((performance.now() - started) / 1000, 1),
  };
}

/** Starts the Workers, runs the load through the window, drains it and returns what each Worker saw. */
async function runLoad(
  place: ThroughputPlace,
  instances: Instance[],
  load: ThroughputLoad,
): Promise<{ stats: WorkerStats[]; cpu: CpuUse; pg: PgWaits; counters: Record<string, number> }> {
  const n = instances.length;
  const plans: LoadPlan[] = Array.from({ length: load.workers }, (_, index) => ({
    index,
    urls: instances.map((i) => i.url),
    contributors: [],
    clients: [],
    maxConcurrent: load.maxConcurrent,
    shards: load.shards,
    items: load.items,
    bid: load.bid,
    jobsInFlight: load.jobsInFlight,
  }));
  // Dealt round-robin, so every Worker carries peers of every instance.
  let k = 0;
  for (let i = 0; i < n; i++) for (let c = 0; c < load.contributorsPerInstance; c++) plans[k++ % load.workers]!.contributors.push(i);
  for (let i = 0; i < n; i++) for (let c = 0; c < load.clientsPerInstance; c++) plans[k++ % load.workers]!.clients.push(i);
  const workers = plans.map(() => new Worker(new URL('./load-worker.ts', import.meta.url).href, { type: 'module' }));
  const inboxes = workers.map((w, i) => workerInbox(w, `load worker ${i}`));
  try {
    workers.forEach((w, i) => send(w, { t: 'init', plan: plans[i]! }));
    const ready = await Promise.all(inboxes.map((b) => b.next('ready', 60_000)));
    const routes: Record<string, number> = {};
    ready.forEach((r, i) => r.t === 'ready' && r.clients.forEach((c) => (routes[c] = i)));
    const ports: (MessagePort | null)[][] = workers.map(() => workers.map(() => null));
    for (let i = 0; i < workers.length; i++) {
      for (let j = i + 1; j < workers.length; j++) {
        const ch = new MessageChannel();
        ports[i]![j] = ch.port1;
        ports[j]![i] = ch.port2;
      }
    }
    workers.forEach((w, i) => w.postMessage({ t: 'wire', routes, ports: ports[i]! } satisfies ToWorker, ports[i]!.filter((p): p is MessagePort => p !== null)));
    await Promise.all(inboxes.map((b) => b.next('wired', 10_000)));
    await sleep(500); // every instance hears of every contributor (published every 50 ms)
    const from = Date.now() + load.warmupMs;
    const to = from + load.measureMs;
    workers.forEach((w) => send(w, { t: 'start', from, to }));
    const groups: CpuGroups = { generator: () => ['self'], coordinators: () => instances.map((i) => i.pid), ...place.servers };
    await sleep(from - Date.now());
    const urls = instances.map((i) => i.url);
    const waits = sampleWaits(place.pgServer);
    const countersBefore = await scrapeCounters(urls);
    const before = readCpu(groups);
    await sleep(to - Date.now());
    const after = readCpu(groups);
    const counters = counterDelta(countersBefore, await scrapeCounters(urls));
    const pg = await waits.stop();
    workers.forEach((w) => send(w, { t: 'stop' }));
    await Promise.all(inboxes.map((b) => b.next('quiet', 15_000)));
    await sleep(200);
    workers.forEach((w) => send(w, { t: 'finish' }));
    const done = await Promise.all(inboxes.map((b) => b.next('done', 15_000)));
    await sleep(100); // the Workers close their sockets
    return { stats: done.map((d) => (d as Extract<FromWorker, { t: 'done' }>).stats), cpu: cpuBetween(before, after), pg, counters };
  } finally {
    for (const w of workers) w.terminate();
  }
}

function send(w: Worker, m: ToWorker): void {
  w.postMessage(m);
}