/** Exact (Clopper-Pearson) binomial confidence bound, for "k wrong in n shards" statements. */

/** The one-sided upper 95% bound on a rate after `k` events in `n` trials (k = 0: 1 - 0.05^(1/n)). */
export function upperBound95(k: number, n: number): number {
  if (n <= 0) return 1;
  if (k >= n) return 1;
  if (k === 0) return 1 - Math.pow(0.05, 1 / n);
  // Bisect on p: P(X <= k | n, p) = 0.05, the CDF falling as p grows.
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** P(X <= k) for X ~ Binomial(n, p), summed in log space. */
function binomialCdf(k: number, n: number, p: number): number {
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let logTerm = n * lq; // P(X = 0)
  let sum = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log((n - i + 1) / i) + lp - lq;
    sum += Math.exp(logTerm);
  }
  return Math.min(1, sum);
}
