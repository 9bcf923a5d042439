/**
 * What the coordinators' PostgreSQL connections are doing, sampled from `pg_stat_activity` every SAMPLE_MS
 * during a measured window: how many are busy on average, and what they wait for (a row lock held by another
 * transaction, the client's next statement, I/O). It tells a hot row (every settlement credits the one
 * `fees` balance at commit) from a busy CPU, which the throughput figures alone cannot.
 */
import postgres from 'postgres';

/** How often the activity is sampled. */
export const SAMPLE_MS = 50;

/** Averages over the samples: connections per state ('active', 'idle in transaction', ...) and per wait event. */
export interface PgWaits {
  samples: number;
  /** Mean connections in each state (idle ones left out). */
  states: Record<string, number>;
  /** Mean active connections waiting on each event (`type:event`), and running on the CPU ('cpu'). */
  active: Record<string, number>;
}

/** Starts sampling the server at `url`; `stop()` ends it and returns the averages. */
export function sampleWaits(url: string): { stop(): Promise<PgWaits> } {
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  const states = new Map<string, number>();
  const active = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await sql`SELECT state, wait_event_type, wait_event FROM pg_stat_activity
        WHERE application_name LIKE 'meshwork%' AND state IS NOT NULL AND state <> 'idle'`;
      samples++;
      for (const r of rows) {
        const state = r.state as string;
        states.set(state, (states.get(state) ?? 0) + 1);
        if (state !== 'active') continue;
        const what = r.wait_event_type ? `${r.wait_event_type}:${r.wait_event}` : 'cpu';
        active.set(what, (active.get(what) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop.catch(() => {});
      await sql.end();
      const mean = (m: Map<string, number>) =>
        Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((v / Math.max(1, samples)) * 100) / 100]));
      return { samples, states: mean(states), active: mean(active) };
    },
  };
}
