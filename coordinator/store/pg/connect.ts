/** Connections to PostgreSQL through `npm:postgres` (porsager/postgres), set up the same way for every store. */
import postgres from 'postgres';

/** A pool of connections (a `postgres.Sql`). */
export type Sql = postgres.Sql;
/** The connection a transaction runs on. */
export type TxSql = postgres.TransactionSql;

/** Options of `connectPg`. */
export interface ConnectOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Shown in `pg_stat_activity` (default 'meshwork'). */
  applicationName?: string;
}

/**
 * Opens a pool to `url` (`postgres://user@host:port/db`). Connections open lazily; bigint columns come back as
 * strings, which the stores convert. Server notices (e.g. "relation already exists, skipping") are dropped.
 */
export function connectPg(url: string, opts: ConnectOptions = {}): Sql {
  const max = opts.max ?? 10;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`Cannot connect to PostgreSQL as 'max' must be a positive integer: current value is ${max}`);
  }
  return postgres(url, {
    max,
    onnotice: () => {},
    // Only built-in types are used, so skip the type lookup each new connection would otherwise make.
    fetch_types: false,
    connection: { application_name: opts.applicationName ?? 'meshwork' },
  });
}

/** The SQLSTATE of a PostgreSQL error, or undefined for any other value. */
export function sqlState(err: unknown): string | undefined {
  if (err instanceof postgres.PostgresError) return err.code;
  return undefined;
}
