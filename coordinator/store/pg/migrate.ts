/**
 * Versioned schema migrations. Each store names its `component` and lists its migrations as SQL text; applied
 * versions are rows of `schema_migrations (component, version)`. `migrate` applies the missing ones in one
 * transaction under an advisory lock, so coordinator instances starting together queue behind each other
 * instead of racing to create the same tables, and a failed migration leaves nothing half-applied.
 */
import type { Sql } from './connect.ts';

/** One schema step: applied once, in version order, never edited after release. */
export interface Migration {
  /** 1, 2, 3, ... within its component. */
  version: number;
  /** Short description, stored with the version. */
  name: string;
  /** SQL statements, without parameters. */
  sql: string;
}

/** Key of the transaction-scoped advisory lock all migrations take ('mesh' in ASCII). */
export const MIGRATION_LOCK = 0x6d657368;

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS schema_migrations (
  component text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, version)
)`;

/**
 * Applies the migrations of `component` not yet recorded; returns the versions applied now. Throws when the
 * database is at a newer version than the code knows (an older coordinator must not write a newer schema).
 */
export async function migrate(sql: Sql, component: string, migrations: readonly Migration[]): Promise<number[]> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new RangeError(`Cannot migrate ${component} as migration ${i} must have version ${i + 1}: current value is ${m.version}`);
    }
  });
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx.unsafe(BOOKKEEPING);
    const rows = await tx`SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations WHERE component = ${component}`;
    const current = rows[0]!.version as number;
    if (current > migrations.length) {
      throw new Error(
        `Cannot migrate ${component} as the database is newer than this code knows (${migrations.length}): current version is ${current}`,
      );
    }
    const applied: number[] = [];
    for (const m of migrations.slice(current)) {
      await tx.unsafe(m.sql).simple();
      await tx`INSERT INTO schema_migrations (component, version, name) VALUES (${component}, ${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    return applied;
  });
}
