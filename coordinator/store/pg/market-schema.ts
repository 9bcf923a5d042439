/**
 * The market's tables (component 'market' in `schema_migrations`), beside the ledger's in the same database:
 *
 * - `market_jobs`: one row per running job; `owner` is the instance running it, moved by compare-and-set.
 *   Spec and shard states are `json`, not `jsonb`: json keeps the text as written (key order, number spelling,
 *   `\u0000` escapes jsonb refuses), so a value reads back as exactly the JSON the market wrote.
 * - `market_shards`: each shard's state once it changed, deleted with its job.
 * - `market_credibility`: contributors' track records.
 * - `market_instances`: coordinator instances and their last heartbeat, by the database's clock.
 * - `market_contributors`: the contributor registry, one row per peer at its home instance.
 */
import type { Migration } from './migrate.ts';

/** Component name of the market's state in `schema_migrations`. */
export const MARKET_COMPONENT = 'market';

const V1 = `
CREATE TABLE market_jobs (
  job_id text PRIMARY KEY,
  client text NOT NULL,
  owner text NOT NULL,
  seq bigint NOT NULL,
  submitted_at bigint NOT NULL,
  escrow bigint NOT NULL CHECK (escrow >= 0),
  fee_rate double precision NOT NULL CHECK (fee_rate >= 0),
  bytes integer NOT NULL CHECK (bytes >= 0),
  sampled integer[] NOT NULL,
  spec json NOT NULL
);
CREATE INDEX market_jobs_owner ON market_jobs (owner, job_id);
CREATE INDEX market_jobs_client ON market_jobs (client, submitted_at);
CREATE INDEX market_jobs_submitted ON market_jobs (submitted_at, job_id);

CREATE TABLE market_shards (
  job_id text NOT NULL REFERENCES market_jobs (job_id) ON DELETE CASCADE,
  idx integer NOT NULL CHECK (idx >= 0),
  state json NOT NULL,
  PRIMARY KEY (job_id, idx)
);

CREATE TABLE market_credibility (
  peer_id text PRIMARY KEY,
  record jsonb NOT NULL
);

CREATE TABLE market_instances (
  id text PRIMARY KEY,
  url text NOT NULL,
  seen_at timestamptz NOT NULL
);

CREATE TABLE market_contributors (
  peer_id text PRIMARY KEY,
  home text NOT NULL,
  registered_at bigint NOT NULL,
  ask_price double precision NOT NULL,
  max_concurrent integer NOT NULL,
  state text NOT NULL CHECK (state IN ('active', 'paused')),
  network text NOT NULL,
  placement text NOT NULL,
  caps jsonb NOT NULL
);
CREATE INDEX market_contributors_home ON market_contributors (home);
`;

/** The market's migrations, in order; append, never edit. */
export const MARKET_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'market jobs, shards, track records, instances, contributors', sql: V1 }];
