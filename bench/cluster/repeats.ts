/**
 * Repeats of the throughput phase and their summary. On a machine shared with other jobs the load of others
 * drifts during a run, so the instance counts are measured in a mirrored order (1, 2, 3, 3, 2, 1 for two
 * repeats): a drift that is linear in time weighs the same on every count, and ratios stay fair.
 */
import type { ThroughputResult } from './throughput.ts';
import { round } from './stats.ts';

/** The order to measure `counts` in, `repeats` times, mirrored every other pass. */
export function mirroredOrder(counts: readonly number[], repeats: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < repeats; r++) out.push(...(r % 2 === 0 ? counts : [...counts].reverse()));
  return out;
}

/** One instance count over its repeats: means, and each repeat's settled runs/s. */
export interface ThroughputSummary {
  instances: number;
  settledPerSec: number;
  repeats: number[];
  assignsPerSec: number;
  claimP50Ms: number;
  payP50Ms: number;
  /** Cores each group ran on; `other` = the machine's busy cores not used by any group (other jobs). */
  cores: Record<string, number>;
  /** Cores' worth of time each group was ready to run but waited for a core. */
  waiting: Record<string, number>;
  machineCores: number;
  cpuMsPerRun: Record<string, number>;
  /** Per settled run: leases a contributor's home declined (the owner counted it free), claims forwarded to the job's owner. */
  declinedPerRun: number;
  forwardedClaimsPerRun: number;
  rowsPerSettled: Record<string, number>;
  errors: Record<string, number>;
  ledgerProblems: string[];
}

/** Summaries per instance count, in the order of `counts`. */
export function summarize(counts: readonly number[], runs: readonly ThroughputResult[]): ThroughputSummary[] {
  return counts.map((n) => {
    const rs = runs.filter((r) => r.instances === n);
    const mean = (f: (r: ThroughputResult) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    const meanOf = (f: (r: ThroughputResult) => Record<string, number>) => {
      const keys = new Set(rs.flatMap((r) => Object.keys(f(r))));
      return Object.fromEntries([...keys].map((k) => [k, round(mean((r) => f(r)[k] ?? 0), 3)]));
    };
    const errors: Record<string, number> = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    const cores = meanOf((r) => r.cpu.cores);
    cores.other = round(Math.max(0, mean((r) => r.cpu.machineBusyCores - Object.values(r.cpu.cores).reduce((a, b) => a + b, 0))), 2);
    const perRun = (key: string) => round(mean((r) => (r.counters[key] ?? 0) / Math.max(1, r.settledPerSec * r.cpu.seconds)), 3);
    return {
      instances: n,
      settledPerSec: round(mean((r) => r.settledPerSec), 1),
      repeats: rs.map((r) => r.settledPerSec),
      assignsPerSec: round(mean((r) => r.assignsPerSec), 1),
      claimP50Ms: round(mean((r) => r.claimMs.p50), 1),
      payP50Ms: round(mean((r) => r.payMs.p50), 1),
      cores,
      waiting: meanOf((r) => r.cpu.waiting),
      machineCores: rs[0]?.cpu.machineCores ?? 0,
      cpuMsPerRun: meanOf((r) => r.cpuMsPerRun),
      declinedPerRun: perRun('cluster_market:declined'),
      forwardedClaimsPerRun: perRun('cluster_market:forwarded-claim'),
      rowsPerSettled: meanOf((r) => r.rowsPerSettled),
      errors,
      ledgerProblems: rs.flatMap((r) => r.ledger.problems),
    };
  });
}
