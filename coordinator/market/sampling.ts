/** Which shards of a job are replicated for verification. */

/**
 * Picks `fraction` of `count` shard indices uniformly at random. The expected number is exactly
 * `fraction * count`: the whole part always, the fractional part with that probability, so small jobs with
 * a small fraction are still sampled sometimes rather than never.
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
  // Partial Fisher-Yates: the first k slots of a shuffled index list.
  const idx = Array.from({ length: count }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (count - i));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return new Set(idx.slice(0, k));
}
