/** PostgreSQL stores: connections, versioned migrations and the PostgreSQL credit ledger. */
export { connectPg, type ConnectOptions, type Sql, sqlState, type TxSql } from './connect.ts';
export { type Migration, migrate, MIGRATION_LOCK } from './migrate.ts';
export { LEDGER_COMPONENT, LEDGER_MIGRATIONS } from './ledger-schema.ts';
export { openPgLedger, PgLedger, type PgLedgerOptions } from './pg-ledger.ts';
