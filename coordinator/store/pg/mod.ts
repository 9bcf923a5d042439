/** PostgreSQL stores: connections, versioned migrations, the PostgreSQL credit ledger and market store. */
export { connectPg, type ConnectOptions, type Sql, sqlState, type TxSql } from './connect.ts';
export { type Migration, migrate, MIGRATION_LOCK } from './migrate.ts';
export { LEDGER_COMPONENT, LEDGER_MIGRATIONS } from './ledger-schema.ts';
export { openPgLedger, PgLedger, type PgLedgerOptions } from './pg-ledger.ts';
export { MARKET_COMPONENT, MARKET_MIGRATIONS } from './market-schema.ts';
export { openPgMarketStore, PgMarketStore, type PgMarketStoreOptions } from './market-store.ts';
