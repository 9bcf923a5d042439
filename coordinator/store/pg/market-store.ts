/**
 * The market's state on PostgreSQL, for coordinators that share one database (tables: market-schema.ts). Same
 * behaviour as the Deno KV engine (kv/market-store.ts); every operation is one statement, so each is atomic by
 * itself and needs no retry loop:
 *
 * - `putShards` upserts any number of shards in one `INSERT ... SELECT FROM ROWS FROM (unnest(indexes),
 *   json_array_elements(states))` (two parameters; each state is parsed once), fenced by a CTE that locks the
 *   job's row `FOR SHARE` while its owner is still the caller. `moveJob`'s UPDATE
 *   needs that row exclusively, so a shard write and a move never interleave: a write that took the lock first
 *   finishes before the move; one that came after re-reads the moved row (READ COMMITTED re-checks a locked
 *   row's new version), finds another owner and writes nothing. Shards are upserted in index order, so two
 *   writers of one job lock shard rows alike and cannot deadlock.
 * - `moveJob` is `UPDATE ... WHERE owner = from`: of two racing moves the second re-checks the moved row and
 *   matches nothing.
 * - `endJob` deletes the job's row; its shards go with it (ON DELETE CASCADE).
 * - `loadJob` reads the header, the spec and every shard in one statement, hence one snapshot.
 * - Instance ages come from the database's clock (`now() - seen_at`), so instances' clocks need not agree.
 *
 * Nothing here sends NOTIFY: these writes are the hot path, and listeners are another component's concern.
 */
import type postgres from 'postgres';
import { checkLimit } from '../_checks.ts';
import type { JobOwner, MarketStore, StoredContributor, StoredCredibility, StoredInstance, StoredJob, StoredShard } from '../types.ts';
import { connectPg, type Sql } from './connect.ts';
import { contributorsText, intArray, pairsText, uniqueSorted, toContributor, toJob, toJobOwner } from './_market-rows.ts';
import { MARKET_COMPONENT, MARKET_MIGRATIONS } from './market-schema.ts';
import { migrate } from './migrate.ts';

/** Rows per page of the listings (runningJobs, credibility, contributors), read by key so no cursor is held. */
const PAGE = 500;

/** Options of `openPgMarketStore`. */
export interface PgMarketStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Connections in this instance's pool (default 10). */
  poolSize?: number;
}

/** Connects, applies the market's migrations and returns the store; several instances may share a database. */
export async function openPgMarketStore(opts: PgMarketStoreOptions): Promise<PgMarketStore> {
  const sql = connectPg(opts.url, { applicationName: 'meshwork-market', ...(opts.poolSize === undefined ? {} : { max: opts.poolSize }) });
  try {
    await migrate(sql, MARKET_COMPONENT, MARKET_MIGRATIONS);
  } catch (err) {
    await sql.end({ timeout: 1 });
    throw err;
  }
  return new PgMarketStore(sql);
}

/** The market's state in PostgreSQL; obtain one with `openPgMarketStore`. */
export class PgMarketStore implements MarketStore {
  readonly #sql: Sql;

  /** Wraps a migrated pool; prefer `openPgMarketStore`. */
  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async putJob(job: StoredJob): Promise<void> {
    await this.#sql`INSERT INTO market_jobs (job_id, client, owner, seq, submitted_at, escrow, fee_rate, bytes, sampled, spec)
      VALUES (${job.jobId}, ${job.client}, ${job.owner}, ${job.seq}, ${job.submittedAt}, ${job.escrow}, ${job.feeRate}, ${job.bytes},
        ${intArray('save a job', job.sampled)}::text::integer[], ${JSON.stringify(job.spec)}::text::json)
      ON CONFLICT (job_id) DO UPDATE SET client = EXCLUDED.client, owner = EXCLUDED.owner, seq = EXCLUDED.seq,
        submitted_at = EXCLUDED.submitted_at, escrow = EXCLUDED.escrow, fee_rate = EXCLUDED.fee_rate, bytes = EXCLUDED.bytes,
        sampled = EXCLUDED.sampled, spec = EXCLUDED.spec`;
  }

  async putShards(jobId: string, shards: readonly (readonly [number, StoredShard])[], owner?: string): Promise<boolean> {
    const sorted = uniqueSorted(shards);
    const idx = intArray('save shards', sorted.map(([i]) => i));
    const states = JSON.stringify(sorted.map(([, s]) => s));
    const [row] = await this.#sql`
      WITH job AS MATERIALIZED (
        SELECT job_id FROM market_jobs WHERE job_id = ${jobId} AND owner = coalesce(${owner ?? null}::text, owner) FOR SHARE
      ), written AS (
        INSERT INTO market_shards (job_id, idx, state)
        SELECT job.job_id, s.idx, s.state FROM job,
          ROWS FROM (unnest(${idx}::text::integer[]), json_array_elements(${states}::text::json)) AS s (idx, state)
        ON CONFLICT (job_id, idx) DO UPDATE SET state = EXCLUDED.state
      )
      SELECT EXISTS (SELECT FROM job) AS owned`;
    return row!.owned === true;
  }

  async loadJob(jobId: string): Promise<{ job: StoredJob; shards: Map<number, StoredShard> } | undefined> {
    const [row] = await this.#sql`
      SELECT job_id, client, owner, seq, submitted_at, escrow, fee_rate, bytes, to_json(sampled) AS sampled, spec,
        (SELECT coalesce(json_agg(json_build_array(s.idx, s.state) ORDER BY s.idx), '[]'::json)
          FROM market_shards s WHERE s.job_id = j.job_id) AS shards
      FROM market_jobs j WHERE job_id = ${jobId}`;
    return row ? toJob(row) : undefined;
  }

  async ownerOf(jobId: string): Promise<string | undefined> {
    const [row] = await this.#sql`SELECT owner FROM market_jobs WHERE job_id = ${jobId}`;
    return row?.owner;
  }

  async moveJob(jobId: string, from: string, to: string): Promise<boolean> {
    const res = await this.#sql`UPDATE market_jobs SET owner = ${to} WHERE job_id = ${jobId} AND owner = ${from}`;
    return res.count === 1;
  }

  async jobsOfClient(client: string, limit: number): Promise<JobOwner[]> {
    checkLimit('list the jobs of a client', limit);
    const rows = await this.#sql`SELECT job_id, client, owner FROM market_jobs WHERE client = ${client}
      ORDER BY submitted_at, job_id LIMIT ${limit}`;
    return rows.map(toJobOwner);
  }

  async orphans(live: readonly string[], limit: number): Promise<JobOwner[]> {
    checkLimit('list orphaned jobs', limit);
    const rows = await this.#sql`SELECT job_id, client, owner FROM market_jobs
      WHERE owner NOT IN (SELECT json_array_elements_text(${JSON.stringify(live)}::text::json))
      ORDER BY submitted_at, job_id LIMIT ${limit}`;
    return rows.map(toJobOwner);
  }

  async endJob(jobId: string): Promise<void> {
    await this.#sql`DELETE FROM market_jobs WHERE job_id = ${jobId}`;
  }

  async *runningJobs(owner?: string): AsyncIterable<{ job: StoredJob; shards: Map<number, StoredShard> }> {
    const ofOwner = owner === undefined ? this.#sql`` : this.#sql`AND owner = ${owner}`;
    for (let after: string | undefined, more = true; more;) {
      const from = after === undefined ? this.#sql`` : this.#sql`AND job_id > ${after}`;
      const ids = await this.#sql`SELECT job_id FROM market_jobs WHERE true ${ofOwner} ${from} ORDER BY job_id LIMIT ${PAGE}`;
      more = ids.length === PAGE;
      for (const { job_id } of ids) {
        after = job_id;
        // Jobs load one at a time (a spec can be megabytes); one that ended meanwhile is skipped.
        const job = await this.loadJob(job_id);
        if (job) yield job;
      }
    }
  }

  async hasJob(jobId: string): Promise<boolean> {
    return (await this.#sql`SELECT FROM market_jobs WHERE job_id = ${jobId}`).length > 0;
  }

  async putCredibility(records: readonly (readonly [string, StoredCredibility])[]): Promise<void> {
    if (records.length === 0) return;
    await this.#sql`INSERT INTO market_credibility (peer_id, record)
      SELECT e->>0, (e->1)::jsonb FROM json_array_elements(${pairsText(records)}::text::json) AS e
      ON CONFLICT (peer_id) DO UPDATE SET record = EXCLUDED.record`;
  }

  async *credibility(): AsyncIterable<[string, StoredCredibility]> {
    for await (const row of this.#pages('market_credibility', 'peer_id, record')) yield [row.peer_id, row.record];
  }

  async credibilityOf(peerIds: readonly string[]): Promise<Map<string, StoredCredibility>> {
    if (peerIds.length === 0) return new Map();
    const rows = await this.#sql`SELECT peer_id, record FROM market_credibility
      WHERE peer_id IN (SELECT json_array_elements_text(${JSON.stringify(peerIds)}::text::json))`;
    return new Map(rows.map((r) => [r.peer_id, r.record]));
  }

  async heartbeat(id: string, url: string): Promise<void> {
    await this.#sql`INSERT INTO market_instances (id, url, seen_at) VALUES (${id}, ${url}, now())
      ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, seen_at = EXCLUDED.seen_at`;
  }

  async instances(): Promise<StoredInstance[]> {
    const rows = await this.#sql`SELECT id, url, greatest(0, extract(epoch FROM now() - seen_at) * 1000)::float8 AS age_ms
      FROM market_instances ORDER BY id`;
    return rows.map((r) => ({ id: r.id, url: r.url, ageMs: r.age_ms }));
  }

  async forgetInstance(id: string): Promise<void> {
    await this.#sql`WITH gone AS (DELETE FROM market_contributors WHERE home = ${id}) DELETE FROM market_instances WHERE id = ${id}`;
  }

  async putContributors(rows: readonly StoredContributor[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#sql`INSERT INTO market_contributors (peer_id, home, registered_at, ask_price, max_concurrent, state, network, placement, caps)
      SELECT r->>'peerId', r->>'home', (r->>'registeredAt')::bigint, (r->>'askPrice')::float8, (r->>'maxConcurrent')::integer,
        r->>'state', r->>'network', r->>'placement', (r->'caps')::jsonb
      FROM json_array_elements(${contributorsText(rows)}::text::json) AS r
      ON CONFLICT (peer_id) DO UPDATE SET home = EXCLUDED.home, registered_at = EXCLUDED.registered_at,
        ask_price = EXCLUDED.ask_price, max_concurrent = EXCLUDED.max_concurrent, state = EXCLUDED.state,
        network = EXCLUDED.network, placement = EXCLUDED.placement, caps = EXCLUDED.caps`;
  }

  async dropContributors(home: string, peerIds: readonly string[]): Promise<void> {
    if (peerIds.length === 0) return;
    await this.#sql`DELETE FROM market_contributors WHERE home = ${home}
      AND peer_id IN (SELECT json_array_elements_text(${JSON.stringify(peerIds)}::text::json))`;
  }

  async *contributors(): AsyncIterable<StoredContributor> {
    const columns = 'peer_id, home, registered_at, ask_price, max_concurrent, state, network, placement, caps';
    for await (const row of this.#pages('market_contributors', columns)) yield toContributor(row);
  }

  /** Closes the pool, letting running queries finish (at most 5 s). */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }

  /** Every row of a table keyed by `peer_id`, PAGE at a time. */
  async *#pages(table: 'market_credibility' | 'market_contributors', columns: string): AsyncIterable<postgres.Row> {
    for (let after: string | undefined, more = true; more;) {
      const from = after === undefined ? this.#sql`` : this.#sql`WHERE peer_id > ${after}`;
      const rows = await this.#sql`SELECT ${this.#sql.unsafe(columns)} FROM ${this.#sql(table)} ${from} ORDER BY peer_id LIMIT ${PAGE}`;
      more = rows.length === PAGE;
      for (const row of rows) {
        after = row.peer_id;
        yield row;
      }
    }
  }
}
