// Runs bench/bus.ts under Deno: the bus between coordinator instances, NATS (value) against PostgreSQL
// LISTEN/NOTIFY (baseline), each on its own throwaway server on 127.0.0.1.
import { runDenoJson } from './lib.mjs';

/** Rows for `npm run bench -- bus`: throughput and round trips per message size, and store contention. */
export async function benchBus() {
  const r = await runDenoJson('bench/bus.ts');
  const rows = [];
  const label = { small: '200 B CANDIDATE', medium: '4 KB OFFER' };
  for (const size of ['small', 'medium']) {
    const n = r.nats[size];
    const p = r.postgres[size];
    rows.push(
      { bench: 'bus', measure: `msgs/s one-way, ${label[size]}, ${r.publishers} publishers`, value: n.oneWayPerSec, baseline: p.oneWayPerSec, ratio: n.oneWayPerSec / p.oneWayPerSec, note: 'nats / postgres' },
      { bench: 'bus', measure: `round trip p50 ms, ${label[size]}`, value: n.rttP50Ms, baseline: p.rttP50Ms, ratio: n.rttP50Ms / p.rttP50Ms, note: `nats / postgres (${n.roundTrips} / ${p.roundTrips} round trips)` },
      { bench: 'bus', measure: `round trip p99 ms, ${label[size]}`, value: n.rttP99Ms, baseline: p.rttP99Ms, ratio: n.rttP99Ms / p.rttP99Ms, note: 'nats / postgres' },
    );
  }
  rows.push({
    bench: 'bus',
    measure: `store INSERT commits/s, bus at ${r.loadPerSec} msgs/s`,
    value: r.nats.storeCommitsPerSecUnderLoad,
    baseline: r.postgres.storeCommitsPerSecUnderLoad,
    ratio: r.nats.storeCommitsPerSecUnderLoad / r.postgres.storeCommitsPerSecUnderLoad,
    note: `nats / postgres bus; ${r.storeCommitsPerSecAlone}/s with no bus load`,
  });
  return rows;
}
