/**
 * Verification: which shards are replicated, and what the claims of a shard's runs prove. Pure functions;
 * the market applies their verdicts.
 *
 * Evidence is what contributors signed: each claim names an output hash. Two runs on distinct networks that
 * claim the same hash agree, and that decides the shard; a claimed run whose hash differs from two agreeing
 * ones is wrong. A run the client complained about (contested) is decided by the arbitration run that took
 * its slot: the same hash pays it, another hash rejects it (the complaint and an independent run both speak
 * against it). Nothing else rejects a claimed run: without evidence, claimed work is paid.
 *
 * Replication is decided by the coordinator when a shard's primary run is assigned, hidden from every
 * contributor: the client's own sample (`verifyFraction`) plus credibility-based adaptive replication.
 */
import type { Run } from './job.ts';

/**
 * Picks `fraction` of `count` shard indices uniformly at random. The expected number is exactly
 * `fraction * count`: the whole part always, the fractional part with that probability.
 */
export function chooseVerified(count: number, fraction: number, random: () => number = Math.random): Set<number> {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`Cannot choose verified shards as 'count' must be a non-negative integer: current value is ${count}`);
  }
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new RangeError(`Cannot choose verified shards as 'fraction' must be in [0, 1]: current value is ${fraction}`);
  }
  const exact = fraction * count;
  const k = Math.min(count, Math.floor(exact) + (random() < exact - Math.floor(exact) ? 1 : 0));
  if (k * 4 < count) {
    // Few picks from many: draw distinct indices instead of shuffling a list of `count`.
    const out = new Set<number>();
    while (out.size < k) out.add(Math.floor(random() * count));
    return out;
  }
  const idx = Array.from({ length: count }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (count - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return new Set(idx.slice(0, k));
}

/** Whether a shard whose primary run went to a contributor with this replication probability is replicated. */
export function shouldReplicate(probability: number, random: () => number = Math.random): boolean {
  return probability >= 1 || random() < probability;
}

/** What the claims of one shard prove. */
export interface Judgement {
  /** Runs proven right by agreement, to pay now. */
  pay: Run[];
  /** Runs proven wrong, never to be paid. `outvoted`: two agreeing runs claim another hash. */
  reject: { run: Run; why: 'outvoted' | 'arbitration' }[];
  /** The hash two runs agree on. */
  agreedHash?: string;
  /** Contributors whose runs agreed (credibility). */
  agreeing: string[];
  /** Two claims of a verified shard disagree and no tie-breaker was added yet. */
  tiebreak: boolean;
  /** The shard has its result: agreement, or enough paid runs. */
  done: boolean;
}

/** Shard facts the judge needs. */
export interface ShardFacts {
  verify: boolean;
  waived: boolean;
  tiebreak: boolean;
  runs: readonly Run[];
}

/** Judges a shard's runs from their claims. */
export function judge(s: ShardFacts): Judgement {
  const out: Judgement = { pay: [], reject: [], agreeing: [], tiebreak: false, done: false };
  // A lost run (market/pipelines.ts) is no evidence either way: its output is gone, a fresh run decides.
  const claimed = s.runs.filter((r) => r.claim && r.state !== 'rejected' && !r.lost);
  const byHash = new Map<string, Run[]>();
  for (const r of claimed) {
    const h = r.claim!.outputHash;
    byHash.set(h, [...(byHash.get(h) ?? []), r]);
  }
  for (const [hash, runs] of byHash) {
    if (runs.length < 2 || new Set(runs.map((r) => r.lease.contributor)).size < 2) continue;
    out.agreedHash = hash;
    out.agreeing = runs.map((r) => r.lease.contributor);
    out.pay = runs.filter((r) => r.state !== 'paid');
    for (const r of claimed) {
      if (r.claim!.outputHash !== hash && (r.state === 'claimed' || r.state === 'contested')) out.reject.push({ run: r, why: 'outvoted' });
    }
    out.done = true;
    return out;
  }
  // A contested run against an arbitration run with another hash: the complaint stands confirmed.
  const arbiters = claimed.filter((r) => r.role === 'arbiter' && r.state !== 'contested');
  for (const r of claimed) {
    if (r.state !== 'contested') continue;
    if (arbiters.some((a) => a.claim!.outputHash !== r.claim!.outputHash && a.startedAt > r.startedAt)) out.reject.push({ run: r, why: 'arbitration' });
  }
  const paid = s.runs.filter((r) => r.state === 'paid' && !r.lost).length;
  const verified = s.verify && !s.waived;
  if (!verified) {
    out.done = paid >= 1;
    return out;
  }
  const results = claimed.filter((r) => r.state === 'claimed' || r.state === 'paid').length;
  if (results >= 2 && !s.tiebreak) out.tiebreak = true;
  out.done = paid >= 2;
  return out;
}

/**
 * Whether a claimed run may be paid without further evidence when its claim window passes or the job ends:
 * not rejected, not already paid, and (for a contested run) not decided against.
 */
export function payableWithoutEvidence(run: Run): boolean {
  return run.state === 'claimed' || run.state === 'contested';
}
