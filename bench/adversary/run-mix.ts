/**
 * The run loop of one mix: a fresh ledger and market, the population joined and honest history seeded, the
 * clients' jobs run to their end in real time, then the market shut down and the books read: wrong results,
 * runs per shard, what the saboteurs gained, and the ledger invariant (sum of balances == minted).
 */
import { upperBound95 } from './bound.ts';
import type { Mix } from './mixes.ts';
import { CLIENTS, populate, seedHistory, whitewash, type Population } from './population.ts';
import { World } from './world.ts';

/** Shards per job and jobs each client keeps running. */
export const SHARDS_PER_JOB = 250;
export const JOBS_PER_CLIENT = 2;
/** A mix still running after this long is cut short (its running jobs cancelled) and flagged. */
const MAX_MIX_MS = 240_000;

/** What one mix measured. */
export interface MixResult {
  mix: Mix;
  /** Shards the coordinator decided (verdict with a hash), wrong ones, and the rate with its 95% bound. */
  finished: number;
  wrong: number;
  /** Wrong results two runs agreed on (the rest were accepted unverified). */
  wrongVerified: number;
  wrongPpm: number;
  boundPpm: number;
  /** Runs claimed on decided shards, per decided shard, minus one. */
  overhead: number;
  /** Claims recorded in all, and those by saboteurs. */
  runs: number;
  saboteurRuns: number;
  wrongClaims: number;
  saboteurIdentities: number;
  /** Saboteurs' net micro-credits: contributors' earnings, or freeloaders' value received minus paid. */
  saboteurNet: number;
  /** Micro-credits paid for runs whose claim was wrong. */
  paidForWrong: number;
  /** Freeloading clients only: value of the work they received and what they paid. */
  freeloaders?: { value: number; paid: number };
  /** Failures on evidence recorded against honest contributors. */
  honestFailures: number;
  waived: number;
  /** Leases assigned, claims the market refused as late, receipts and complaints it refused. */
  assignments: number;
  lateClaims: number;
  refused: number;
  unjudged: number;
  rejected: { outvoted: number; arbitration: number };
  ledger: { minted: number; total: number; ok: boolean };
  seconds: number;
  timedOut: boolean;
}

/** Runs one mix to its end. */
export async function runMix(mix: Mix): Promise<MixResult> {
  const world = await World.open();
  try {
    const pop = await populate(world, mix);
    seedHistory(world, pop.honest.map((c) => c.id), mix.history);
    const stopWashing = whitewash(world, pop);
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      Promise.all(pop.clients.map((c, i) => c.run(quota(mix.shards, i), SHARDS_PER_JOB, JOBS_PER_CLIENT))).then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), MAX_MIX_MS))),
    ]);
    clearTimeout(timer);
    const seconds = (performance.now() - started) / 1000;
    stopWashing();
    await world.market.shutdown();
    for (const c of [...pop.honest, ...pop.saboteurs]) c.stop();
    await new Promise((r) => setTimeout(r, 50)); // receipts and complaints still in flight meet finished jobs
    return await measure(world, mix, pop, seconds, timedOut);
  } finally {
    world.close();
  }
}

async function measure(world: World, mix: Mix, pop: Population, seconds: number, timedOut: boolean): Promise<MixResult> {
  const n = world.counts;
  const books = await world.ledger.summary();
  const gained = async (id: string) => (await world.ledger.spendable(id)) - pop.startBalance.get(id)!;
  let saboteurNet = 0;
  for (const s of pop.saboteurs) saboteurNet += await gained(s.id);
  let freeloaders: MixResult['freeloaders'];
  const free = pop.clients.filter((c) => c.role === 'freeloader');
  if (free.length > 0) {
    freeloaders = { value: 0, paid: 0 };
    for (const c of free) {
      freeloaders.value += c.valueReceived;
      freeloaders.paid -= await gained(c.id);
    }
    saboteurNet = freeloaders.value - freeloaders.paid;
  }
  const cred = world.market.credibility;
  return {
    mix,
    finished: n.finished,
    wrong: n.wrong,
    wrongVerified: n.wrongVerified,
    wrongPpm: n.finished > 0 ? (n.wrong / n.finished) * 1e6 : 0,
    boundPpm: upperBound95(n.wrong, n.finished) * 1e6,
    overhead: n.finished > 0 ? n.claimsOnDecided / n.finished - 1 : 0,
    runs: n.claims,
    saboteurRuns: n.saboteurClaims,
    wrongClaims: n.wrongClaims,
    saboteurIdentities: pop.saboteurs.length + (freeloaders ? free.length : 0),
    saboteurNet,
    paidForWrong: n.paidForWrong,
    ...(freeloaders ? { freeloaders } : {}),
    honestFailures: pop.honest.reduce((k, c) => k + cred.get(c.id).failures, 0),
    waived: n.waived,
    assignments: n.assignments,
    lateClaims: n.lateClaims,
    refused: n.refused,
    unjudged: n.unjudged,
    rejected: { outvoted: world.metrics.get('errors', 'rejected-outvoted'), arbitration: world.metrics.get('errors', 'rejected-arbitration') },
    ledger: { minted: books.minted, total: books.total, ok: books.total === books.minted },
    seconds,
    timedOut,
  };
}

/** Shards client `i` submits: an even share, the remainder to the first clients. */
function quota(shards: number, i: number): number {
  return Math.floor(shards / CLIENTS) + (i < shards % CLIENTS ? 1 : 0);
}
