// Runs bench/cluster/main.ts under Deno: coordinator instances as separate processes on one throwaway
// PostgreSQL and NATS (throughput with 1, 2 and 3 instances, signalling relayed across instances, failover after
// kill -9). Fails when a phase's ledger does not balance.
import { runDenoJson } from './lib.mjs';

const cores = (t) => `cores: coord ${t.cores.coordinators}, pg ${t.cores.postgres}, nats ${t.cores.nats}, load ${t.cores.generator}, other jobs ${t.cores.other} of ${t.machineCores}`;
const declines = (t) => (t.instances > 1 ? `${t.declinedPerRun} leases declined by a busy home per run; ` : '');
const ms = (x) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(0));

/** Rows for `npm run bench -- cluster`. */
export async function benchCluster() {
  const r = await runDenoJson('bench/cluster/main.ts');
  const rows = [];
  const broken = [...r.throughputRuns.flatMap((t) => t.ledger.problems), ...(r.failover?.ledger.problems ?? [])];
  if (broken.length > 0) throw new Error(`Cannot accept the cluster bench as the ledger does not balance: ${JSON.stringify(broken)}`);
  const one = r.throughput.find((t) => t.instances === 1);
  for (const t of r.throughput) {
    const vsOne = one && t !== one ? { baseline: one.settledPerSec, ratio: t.settledPerSec / one.settledPerSec } : {};
    const goal = t.instances === 1 ? 'goal >= 2000/s' : t.instances === 2 ? 'goal ratio >= 1.8' : 'vs 1 instance';
    rows.push({
      bench: 'cluster',
      measure: `settled runs/s, ${t.instances} instance${t.instances > 1 ? 's' : ''}`,
      value: t.settledPerSec,
      ...vsOne,
      note: `${goal}; runs ${t.repeats.join(', ')}; claim p50 ${ms(t.claimP50Ms)} ms, receipt p50 ${ms(t.payP50Ms)} ms; ${declines(t)}${cores(t)}; ledger ok`,
    });
  }
  for (const t of r.throughput) {
    const vsOne = one && t !== one ? { baseline: one.cpuMsPerRun.coordinators, ratio: t.cpuMsPerRun.coordinators / one.cpuMsPerRun.coordinators } : {};
    rows.push({
      bench: 'cluster',
      measure: `coordinator CPU ms per settled run, ${t.instances} instance${t.instances > 1 ? 's' : ''}`,
      value: t.cpuMsPerRun.coordinators,
      ...vsOne,
      note: `all instances together; PostgreSQL ${t.cpuMsPerRun.postgres}, load generator ${t.cpuMsPerRun.generator} ms; rows written per run: credibility ${t.rowsPerSettled.market_credibility ?? 0}, shards ${t.rowsPerSettled.market_shards ?? 0}`,
    });
  }
  const s = r.signalling;
  if (s) {
    const note = `cross / same instance, ${s.pairs} pairs, ${s.frameBytes} B CANDIDATE`;
    rows.push(
      { bench: 'cluster', measure: 'signalling msgs/s one-way', value: s.cross.oneWayPerSec, baseline: s.same.oneWayPerSec, ratio: s.cross.oneWayPerSec / s.same.oneWayPerSec, note: `${note}; lost ${s.cross.lost} / ${s.same.lost}` },
      { bench: 'cluster', measure: 'signalling round trip p50 ms', value: s.cross.rttP50Ms, baseline: s.same.rttP50Ms, ratio: s.cross.rttP50Ms / s.same.rttP50Ms, note: `cross / same instance, ${s.rttPairs} pairs echoing (${s.cross.roundTrips} / ${s.same.roundTrips} round trips)` },
      { bench: 'cluster', measure: 'signalling round trip p99 ms', value: s.cross.rttP99Ms, baseline: s.same.rttP99Ms, ratio: s.cross.rttP99Ms / s.same.rttP99Ms, note: 'cross / same instance' },
    );
  }
  const f = r.failover;
  if (f) {
    const n = (q) => `n=${q.n}${q.n <= 100 ? ', p99 = max' : ''}`;
    rows.push(
      { bench: 'cluster', measure: 'failover ms: kill -9 -> first paid run leased after it, p50', value: f.firstNewSettle.p50, note: `${n(f.firstNewSettle)}; p99 ${ms(f.firstNewSettle.p99)}; ${f.rounds.filter((x) => x.blockedContributors === f.contributors).length} rounds in which all ${f.contributors} contributors had a claim waiting on the dead owner` },
      { bench: 'cluster', measure: 'failover ms: kill -9 -> first paid run leased after it, p99', value: f.firstNewSettle.p99, note: n(f.firstNewSettle) },
      { bench: 'cluster', measure: 'failover ms: kill -9 -> first assign by the new owner, p50', value: f.firstAssign.p50, note: `${n(f.firstAssign)}; p99 ${ms(f.firstAssign.p99)}` },
      { bench: 'cluster', measure: 'failover ms: kill -9 -> welcome on the new instance, p50', value: f.welcome.p50, note: `${n(f.welcome)}; p99 ${ms(f.welcome.p99)}; includes the handoff timeout (coordinator/cluster/ownership.ts HANDOFF_TIMEOUT_MS, 1 s)` },
      { bench: 'cluster', measure: 'failover ms: slowest claim of a lease the dead owner gave, p50', value: f.slowestClaim.p50, note: `${n(f.slowestClaim)}; a claim forwarded to the dead owner goes to the new one when the job moves` },
    );
  }
  return rows;
}
