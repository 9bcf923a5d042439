// Runs bench/attack/main.ts under Deno: /healthz latency and coordinator memory under hostile loads.
import { runDenoJson } from './lib.mjs';

/** Rows for `npm run bench -- attack`: /healthz p99 before and during each attack, memory after them. */
export async function benchAttack() {
  const r = await runDenoJson('bench/attack/main.ts');
  const rows = r.results.map((a) => ({
    bench: 'attack',
    measure: `/healthz p99 ms during ${a.kind}`,
    value: a.healthz.during.p99,
    baseline: a.healthz.before.p99,
    ratio: a.healthz.during.p99 / a.healthz.before.p99,
    note: `goal < 50 ms; p50 ${a.healthz.during.p50.toFixed(1)}, max ${a.healthz.during.max.toFixed(1)}, ${a.healthz.during.failed} failed of ${a.healthz.during.n}; RSS ${a.rssMiB.before.toFixed(0)} -> peak ${a.rssMiB.peak.toFixed(0)} MiB; alive ${a.alive}`,
  }));
  rows.push({
    bench: 'attack',
    measure: 'RSS MiB after the attackers left',
    value: r.rssMiB.end,
    baseline: r.rssMiB.start,
    ratio: r.rssMiB.ratio,
    note: `goal ratio <= 1.10 (baseline: after warm-up: honest jobs and 2 s of each attack); settled in ${(r.rssMiB.settledAfterMs / 1000).toFixed(0)} s; heap ${r.heapMiB.start.heap.toFixed(0)} -> ${r.heapMiB.end.heap.toFixed(0)} MiB; process alive ${r.alive}`,
  });
  return rows;
}
