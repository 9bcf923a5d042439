/**
 * The mixes the benchmark runs and the goals for each. A saboteur kind runs at 10% and at 30% of
 * contributors (of clients, for freeloaders) among honest peers; the all-honest baselines measure what
 * verification costs with and without history.
 */
import type { SaboteurKind } from './behaviours.ts';
import type { Adversary } from './population.ts';

/** Agreements (and paid runs) seeded into each honest contributor's record before a mix. */
export const HISTORY = 100;

/** One mix. */
export interface Mix extends Adversary {
  name: string;
  /** Shards submitted. */
  shards: number;
  /** Agreements seeded into each honest contributor's record. */
  history: number;
  /** Most wrong results per million shards the issue allows (none for baselines). */
  goalPpm?: number;
  /** Whether the overhead goal (<= 10% extra runs) applies. */
  overheadGoal?: number;
  /** An extra row beyond the list, reported whatever it shows. */
  extra?: boolean;
}

/** Kinds in report order. */
export const KINDS: readonly SaboteurKind[] = ['garbage', 'colluders', 'hoarders', 'freeloaders', 'sybils', 'patient'];

/**
 * Every mix: `shards` for the baseline and the 10% mixes (whose goal is 100 per million: with no wrong
 * result, 30,000 shards bound the rate below 100 per million at 95% confidence), a fifth of that for the 30%
 * mixes (goal 1,000 per million: 6,000 shards bound it below 500) and for the baseline without history.
 */
export function mixes(shards: number): Mix[] {
  const small = Math.max(1, Math.round(shards / 5));
  const out: Mix[] = [
    { name: 'honest, with history', kind: 'none', fraction: 0, shards, history: HISTORY, overheadGoal: 0.1 },
    { name: 'honest, no history', kind: 'none', fraction: 0, shards: small, history: 0, extra: true },
  ];
  for (const kind of KINDS) {
    for (const fraction of [0.1, 0.3]) {
      out.push({
        name: `${kind} ${fraction * 100}%`,
        kind,
        fraction,
        shards: fraction < 0.2 ? shards : small,
        history: HISTORY,
        goalPpm: fraction < 0.2 ? 100 : 1000,
        ...(kind === 'patient' ? { extra: true } : {}),
      });
    }
  }
  return out;
}
