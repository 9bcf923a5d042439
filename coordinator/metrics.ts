/**
 * Process metrics in the Prometheus text exposition format. Counters only grow; gauges are read on scrape
 * from whoever owns the number, so they cannot drift from the truth.
 */

/** Counter names the coordinator increments (each may carry one `kind` label). */
export type CounterName =
  | 'connections'
  | 'connections_refused'
  | 'accept_errors'
  | 'frames'
  | 'errors'
  | 'jobs'
  | 'shards_settled'
  | 'ledger_ops'
  | 'match_rounds'
  | 'match_offers'
  | 'cache_serves'
  | 'cache_evictions'
  | 'match_ms'
  | 'speculative_runs'
  | 'services'
  | 'serve_placements'
  | 'serve_ended'
  | 'serve_disputes'
  | 'cluster_frames'
  | 'cluster_market'
  | 'bus_errors';

const HELP: Record<CounterName, string> = {
  connections: 'WebSocket connections accepted, by kind (signalling, mesh).',
  connections_refused: 'TCP connections refused or cut by a limit, by kind (global-cap, address-cap, no-descriptors, header-timeout, too-large, bad-request, write-timeout, slow-reader).',
  accept_errors: 'Failed accept() calls (e.g. out of descriptors); the server carries on.',
  frames: 'Frames received, by kind.',
  errors: 'Error replies and failures, by kind.',
  jobs: 'Jobs accepted.',
  shards_settled: 'Shard runs paid by a receipt.',
  ledger_ops: 'Ledger operations, by kind.',
  match_rounds: 'Matching rounds run.',
  match_offers: 'Runs offered to matching rounds (bounded per round by free capacity).',
  cache_serves: 'Shards answered from a contributor\'s cache of verified outputs.',
  cache_evictions: 'Holders of verified outputs forgotten because they reported evicting them.',
  match_ms: 'Milliseconds spent in matching rounds.',
  speculative_runs: 'Speculative duplicates of stragglers leased near the end of a job.',
  services: 'Serving endpoints opened.',
  serve_placements: 'Serving leases placed on contributors (re-placements included).',
  serve_ended: 'Serving leases ended (closed, expired, left, revoked).',
  serve_disputes: 'Spot-check disputes between serving replicas.',
  cluster_frames: 'Cross-instance signalling, by kind (forwarded, received, id-taken, takeover, evicted).',
  cluster_market: 'Cross-instance market events, by kind (declined, forwarded-claim, handoff, takeover).',
  bus_errors: 'Bus and peer directory failures and drops, by kind (publish, outbound-full, subscriber-full, decode, handler, connection, directory, envelope).',
};

/** Counters and gauge callbacks, rendered as Prometheus text. */
export class Metrics {
  #counters = new Map<CounterName, Map<string, number>>();
  #gauges = new Map<string, { help: string; read: () => number }>();

  /** Adds `by` to a counter, optionally labelled with `kind`. */
  inc(name: CounterName, kind = '', by = 1): void {
    let series = this.#counters.get(name);
    if (!series) this.#counters.set(name, series = new Map());
    series.set(kind, (series.get(kind) ?? 0) + by);
  }

  /** Current value of a counter series (for tests and logs). */
  get(name: CounterName, kind = ''): number {
    return this.#counters.get(name)?.get(kind) ?? 0;
  }

  /** Registers a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    this.#gauges.set(name, { help, read });
  }

  /** The exposition text. */
  render(): string {
    const lines: string[] = [];
    for (const name of Object.keys(HELP) as CounterName[]) {
      const metric = `meshwork_${name}_total`;
      lines.push(`# HELP ${metric} ${HELP[name]}`, `# TYPE ${metric} counter`);
      const series = this.#counters.get(name) ?? new Map([['', 0]]);
      for (const [kind, value] of series) lines.push(`${metric}${kind ? `{kind="${kind}"}` : ''} ${value}`);
    }
    for (const [name, g] of this.#gauges) {
      lines.push(`# HELP meshwork_${name} ${g.help}`, `# TYPE meshwork_${name} gauge`, `meshwork_${name} ${g.read()}`);
    }
    return lines.join('\n') + '\n';
  }
}
