/**
 * Rows of the market's tables (market-schema.ts) as the store's types, and the parameters the store sends. The
 * pool skips type lookups (connect.ts), so it cannot serialize arrays: lists travel as text, JSON expanded by
 * `json_array_elements` or an integer[] literal, cast in the statement. bigint columns arrive as strings.
 */
import type postgres from 'postgres';
import type { JobOwner, StoredContributor, StoredJob, StoredShard } from '../types.ts';

/** A job as `loadJob` selects it: the header, the spec and `shards` as `[[index, state], ...]`. */
export function toJob(row: postgres.Row): { job: StoredJob; shards: Map<number, StoredShard> } {
  const job: StoredJob = {
    jobId: row.job_id,
    client: row.client,
    spec: row.spec,
    seq: Number(row.seq),
    submittedAt: Number(row.submitted_at),
    escrow: Number(row.escrow),
    feeRate: row.fee_rate,
    bytes: row.bytes,
    sampled: row.sampled,
    owner: row.owner,
  };
  return { job, shards: new Map(row.shards as [number, StoredShard][]) };
}

/** A `job_id, client, owner` row. */
export function toJobOwner(row: postgres.Row): JobOwner {
  return { jobId: row.job_id, client: row.client, owner: row.owner };
}

/** A `market_contributors` row. */
export function toContributor(row: postgres.Row): StoredContributor {
  return {
    peerId: row.peer_id,
    home: row.home,
    caps: row.caps,
    askPrice: row.ask_price,
    maxConcurrent: row.max_concurrent,
    state: row.state,
    network: row.network,
    placement: row.placement,
    registeredAt: Number(row.registered_at),
  };
}

/** `[[key, value], ...]` as JSON text, the last value of a repeated key only, sorted by key. */
export function pairsText<K extends string | number, V>(pairs: readonly (readonly [K, V])[]): string {
  return JSON.stringify(uniqueSorted(pairs));
}

/**
 * The last value of each key, sorted by key: one statement may not upsert a row twice, and a fixed order means
 * concurrent writers lock rows alike.
 */
export function uniqueSorted<K extends string | number, V>(pairs: readonly (readonly [K, V])[]): [K, V][] {
  return [...new Map(pairs)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Contributor rows as JSON text, the last row of a repeated peer only, sorted by peer id. */
export function contributorsText(rows: readonly StoredContributor[]): string {
  return JSON.stringify(uniqueSorted(rows.map((r) => [r.peerId, r] as const)).map(([, r]) => r));
}

/** An integer[] literal (`{0,2}`); throws RangeError on anything but safe integers. */
export function intArray(what: string, values: readonly number[]): string {
  for (const v of values) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`Cannot ${what} as every value must be an integer: current value is ${v}`);
  }
  return `{${values.join(',')}}`;
}
