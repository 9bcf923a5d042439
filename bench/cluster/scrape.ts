/**
 * What the instances and the database counted during a window: the coordinators' own counters (their
 * /metrics, summed over instances: claims forwarded to another instance, leases a contributor's home declined,
 * matching rounds) and PostgreSQL's rows written per table (`pg_stat_user_tables`), which show what each
 * settled run costs the store and how that grows with the number of instances.
 */
import postgres from 'postgres';

/** Counter series summed over instances, keyed `name` or `name:kind` (e.g. `cluster_market:declined`). */
export async function scrapeCounters(urls: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await Promise.all(urls.map(async (url) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(/^meshwork_(\w+)_total(?:\{kind="([^"]*)"\})? (\d+(?:\.\d+)?)$/gm)) {
      const key = m[2] ? `${m[1]}:${m[2]}` : m[1]!;
      out[key] = (out[key] ?? 0) + Number(m[3]);
    }
  }));
  return out;
}

/** The counters that changed between two scrapes, and by how much. */
export function counterDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v !== (a[k] ?? 0)) out[k] = v - (a[k] ?? 0);
  return out;
}

/** Rows inserted plus updated per table of the database at `url` (tables with none left out). */
export async function rowsWritten(url: string): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    // Statistics reach the shared view when a backend's transaction ends or within a second after.
    await sql`SELECT pg_stat_clear_snapshot()`;
    const rows = await sql`SELECT relname, n_tup_ins + n_tup_upd AS written FROM pg_stat_user_tables ORDER BY 2 DESC`;
    return Object.fromEntries(rows.filter((r) => Number(r.written) > 0).map((r) => [r.relname as string, Number(r.written)]));
  } finally {
    await sql.end();
  }
}
