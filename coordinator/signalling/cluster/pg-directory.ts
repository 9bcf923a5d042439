/**
 * The peer directory in PostgreSQL, the store's database. Liveness uses the database's clock (`now()`), so
 * instances' clocks never matter.
 *
 * | table | key | columns | why |
 * |---|---|---|---|
 * | mw_signal_instances | id | seen | heartbeats: alive while seen > now() - ttl |
 * | mw_signal_peers | peer | instance, epoch, token_hash, keyed | who holds each id; index on instance |
 * | mw_signal_epoch (sequence) | | | epochs grow with every claim |
 *
 * Atomicity: a claim is one transaction that locks the id's row (`FOR UPDATE`) before deciding; when there is
 * no row yet, the insert is `ON CONFLICT DO NOTHING` and a lost race retries with the row now present, so two
 * instances never both win an unkeyed id. Release deletes by (peer, epoch), so it never deletes a newer claim.
 * Each heartbeat also drops the entries of instances dead for a TTL and instances dead for ten, which bounds
 * the tables by the live instances' peers (each instance caps its own).
 */
import postgres from 'postgres';
import type { ClaimRequest, ClaimResult, DirectoryTiming, PeerDirectory } from './directory.ts';

/** Heartbeats between garbage collections of dead instances' entries. */
const GC_EVERY = 4;

/** Opens the directory on `url`, creating its tables if needed. */
export async function openPgDirectory(url: string, instance: string, timing: DirectoryTiming): Promise<PgDirectory> {
  const sql = postgres(url, { max: 2, onnotice: () => {}, fetch_types: false, connect_timeout: 10, connection: { application_name: `meshwork-dir-${instance}` } });
  try {
    await sql.begin(async (tx) => {
      // Two instances starting at once would race on CREATE ... IF NOT EXISTS; the lock makes it one at a time.
      await tx`select pg_advisory_xact_lock(hashtext('mw_signal_schema'))`;
      await tx.unsafe(`
        create table if not exists mw_signal_instances (id text primary key, seen timestamptz not null);
        create table if not exists mw_signal_peers (
          peer text primary key, instance text not null, epoch bigint not null, token_hash text not null, keyed boolean not null);
        create index if not exists mw_signal_peers_instance on mw_signal_peers (instance);
        create sequence if not exists mw_signal_epoch;`);
    });
  } catch (err) {
    await sql.end({ timeout: 0 }).catch(() => {});
    throw new Error(`Cannot open the peer directory in PostgreSQL: ${(err as Error).message}`, { cause: err });
  }
  return new PgDirectory(sql, instance, timing);
}

/** PeerDirectory over two tables. */
export class PgDirectory implements PeerDirectory {
  readonly #ttl: number;
  #beats = 0;
  #closing: Promise<void> | undefined;

  constructor(private readonly sql: postgres.Sql, readonly instance: string, timing: DirectoryTiming) {
    this.#ttl = timing.ttlMs / 1000;
  }

  /** Upserts this instance's heartbeat; every few beats, drops dead instances' entries. */
  async heartbeat(): Promise<boolean> {
    // Every statement of a WITH sees one snapshot: the outer select reads `seen` as it was before the upsert.
    const [row] = await this.sql`
      with up as (insert into mw_signal_instances (id, seen) values (${this.instance}, now())
                  on conflict (id) do update set seen = excluded.seen returning 1)
      select coalesce((select seen > now() - make_interval(secs => ${this.#ttl}) from mw_signal_instances where id = ${this.instance}), false) as was,
             (select count(*) from up) as n`;
    if (++this.#beats % GC_EVERY === 0) await this.#gc();
    return row?.was === true;
  }

  /** Claims an id in one transaction that locks its row first. */
  async claim(req: ClaimRequest): Promise<ClaimResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const result = await this.sql.begin(async (tx): Promise<ClaimResult | null> => {
        const [held] = await tx`
          select p.instance, p.token_hash, coalesce(i.seen > now() - make_interval(secs => ${this.#ttl}), false) as alive
          from mw_signal_peers p left join mw_signal_instances i on i.id = p.instance
          where p.peer = ${req.peer} for update of p`;
        if (!held) {
          const [row] = await tx`
            insert into mw_signal_peers (peer, instance, epoch, token_hash, keyed)
            values (${req.peer}, ${this.instance}, nextval('mw_signal_epoch'), ${req.tokenHash}, ${req.keyed})
            on conflict (peer) do nothing returning epoch`;
          return row ? { ok: true, epoch: Number(row.epoch), previous: null } : null;
        }
        if (held.alive && !req.keyed && held.token_hash !== req.tokenHash) return { ok: false, holder: String(held.instance) };
        const [row] = await tx`
          update mw_signal_peers set instance = ${this.instance}, epoch = nextval('mw_signal_epoch'), token_hash = ${req.tokenHash}, keyed = ${req.keyed}
          where peer = ${req.peer} returning epoch`;
        return { ok: true, epoch: Number(row!.epoch), previous: held.alive && held.instance !== this.instance ? String(held.instance) : null };
      });
      if (result) return result;
    }
    throw new Error(`Cannot claim peer ${req.peer} as concurrent claims kept winning: current attempts are 5`);
  }

  /** Deletes the claim if it is still the current one. */
  async release(peer: string, epoch: number): Promise<void> {
    await this.sql`delete from mw_signal_peers where peer = ${peer} and epoch = ${epoch} and instance = ${this.instance}`;
  }

  /** The live holder of `peer`, or null. */
  async lookup(peer: string): Promise<string | null> {
    const [row] = await this.sql`
      select p.instance from mw_signal_peers p join mw_signal_instances i on i.id = p.instance
      where p.peer = ${peer} and i.seen > now() - make_interval(secs => ${this.#ttl})`;
    return row ? String(row.instance) : null;
  }

  /** Removes this instance and its entries. */
  async leave(): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`delete from mw_signal_peers where instance = ${this.instance}`;
      await tx`delete from mw_signal_instances where id = ${this.instance}`;
    });
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.#closing ??= this.sql.end({ timeout: 1 }).catch(() => {});
  }

  async #gc(): Promise<void> {
    await this.sql`
      delete from mw_signal_peers p using mw_signal_instances i
      where p.instance = i.id and i.seen < now() - make_interval(secs => ${this.#ttl})`;
    await this.sql`
      delete from mw_signal_instances i where i.seen < now() - make_interval(secs => ${this.#ttl * 10})
      and not exists (select 1 from mw_signal_peers p where p.instance = i.id)`;
    await this.sql`delete from mw_signal_peers p where not exists (select 1 from mw_signal_instances i where i.id = p.instance)`;
  }
}
