/**
 * The report: each mix against the issue's goals (wrong results per million shards, extra verification
 * work, saboteurs' net credits, the ledger invariant), as a Markdown table for bench/RESULTS.md, as rows for
 * `bench/run.mjs`, and as JSON.
 */
import type { MixResult } from './run-mix.ts';

/** One goal and whether a mix met it. */
export interface GoalCheck {
  goal: string;
  met: boolean;
  detail: string;
}

/** The goals that apply to a mix, checked. */
export function goals(r: MixResult): GoalCheck[] {
  const out: GoalCheck[] = [];
  const { mix } = r;
  if (mix.goalPpm !== undefined) {
    out.push({
      goal: `wrong <= ${mix.goalPpm} per million`,
      met: r.wrongPpm <= mix.goalPpm,
      detail: `${r.wrong} wrong of ${r.finished} (${ppm(r.wrongPpm)} per million; 95% bound ${ppm(r.boundPpm)}${r.boundPpm <= mix.goalPpm ? ', within the goal' : ', above the goal'})`,
    });
  }
  if (mix.overheadGoal !== undefined) {
    out.push({ goal: `extra runs <= ${pct(mix.overheadGoal)}`, met: r.overhead <= mix.overheadGoal, detail: `${pct(r.overhead)} extra runs per decided shard` });
  }
  if (mix.kind !== 'none') {
    out.push({ goal: "saboteurs' net credits <= 0", met: r.saboteurNet <= 0, detail: `${credits(r.saboteurNet)} micro-credits` });
  }
  out.push({ goal: 'ledger: balances sum to minted', met: r.ledger.ok, detail: `total ${r.ledger.total}, minted ${r.ledger.minted}` });
  if (r.timedOut) out.push({ goal: 'mix finished in time', met: false, detail: `cut short after ${r.seconds.toFixed(0)} s` });
  return out;
}

/** The Markdown table of all mixes. */
export function markdown(results: readonly MixResult[]): string {
  const head = ['mix', 'shards decided', 'wrong', 'wrong / M (95% bound)', 'goal / M', 'extra runs', 'saboteur runs (identities)', "saboteurs' net (µcr)",
    'paid for wrong claims (µcr)', 'runs rejected (outvoted / arbitration)', 'honest failures', 'ledger', 'goals met', 's'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of results) {
    const checks = goals(r);
    const failed = checks.filter((c) => !c.met).map((c) => c.goal);
    lines.push(`| ${[
      r.mix.name + (r.mix.extra ? ' (extra)' : ''),
      String(r.finished),
      r.wrong === 0 ? '0' : `${r.wrong} (${r.wrongVerified} agreed)`,
      `${ppm(r.wrongPpm)} (${ppm(r.boundPpm)})`,
      r.mix.goalPpm === undefined ? '-' : String(r.mix.goalPpm),
      pct(r.overhead),
      r.mix.kind === 'none' ? '-' : `${r.saboteurRuns} (${r.saboteurIdentities})`,
      r.mix.kind === 'none' ? '-' : netText(r),
      credits(r.paidForWrong),
      `${r.rejected.outvoted} / ${r.rejected.arbitration}`,
      String(r.honestFailures),
      r.ledger.ok ? 'ok' : `OFF by ${r.ledger.total - r.ledger.minted}`,
      failed.length === 0 ? 'all' : `missed: ${failed.join('; ')}`,
      r.seconds.toFixed(1),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** A row of bench/run.mjs's table. */
export interface BenchRow {
  bench: string;
  measure: string;
  value: number;
  baseline?: number;
  ratio?: number;
  note: string;
}

/**
 * Rows for bench/run.mjs, one per mix, each on the measure its goal is about: extra runs for the baselines
 * (against 10%), net micro-credits for freeloaders (against 0), wrong results per million for the others
 * (against the goal); the note carries the rest.
 */
export function benchRows(results: readonly MixResult[]): BenchRow[] {
  return results.map((r) => {
    const note = `${r.finished} shards decided, ${r.wrong} wrong (95% bound ${ppm(r.boundPpm)}/M), extra runs ${pct(r.overhead)}` +
      (r.mix.kind === 'none' ? '' : `, saboteurs' net ${netText(r)} µcr`) + `, ledger ${r.ledger.ok ? 'ok' : 'OFF'}` +
      (r.mix.extra ? ', extra row' : '');
    const row = { bench: 'adversary', note };
    if (r.mix.kind === 'none') {
      const goal = r.mix.overheadGoal;
      return { ...row, measure: `${r.mix.name}: extra runs per shard`, value: r.overhead, ...(goal ? { baseline: goal, ratio: r.overhead / goal } : {}) };
    }
    if (r.freeloaders) return { ...row, measure: `${r.mix.name}: freeloaders' net µcr`, value: r.saboteurNet, baseline: 0 };
    const goal = r.mix.goalPpm!;
    return { ...row, measure: `${r.mix.name}: wrong / M shards`, value: r.wrongPpm, baseline: goal, ratio: r.wrongPpm / goal };
  });
}

/** The JSON document: every mix with its checks. */
export function json(results: readonly MixResult[], meta: Record<string, unknown>): string {
  return JSON.stringify({ ...meta, mixes: results.map((r) => ({ ...r, goals: goals(r) })) });
}

function netText(r: MixResult): string {
  if (!r.freeloaders) return credits(r.saboteurNet);
  return `${credits(r.saboteurNet)} (received ${credits(r.freeloaders.value)}, paid ${credits(r.freeloaders.paid)})`;
}

/** Micro-credits, signed (one run of a shard pays 1,000 plus a 50 fee: credits would round it away). */
function credits(micro: number): string {
  return (micro > 0 ? '+' : '') + micro.toLocaleString('en-US');
}

function ppm(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
