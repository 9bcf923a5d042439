/**
 * The cluster's PostgreSQL: a persistent cluster in `<data>/pg`, made by initdb on the first run and reused after,
 * on 127.0.0.1 only (no Unix socket, so no path-length limit on the data folder). Unlike the test helper's
 * throwaway server it keeps the durable defaults (fsync, synchronous_commit, full_page_writes on) and stops
 * with a checkpoint (`pg_ctl -m fast`), since its data outlives the run.
 *
 * Passwords: `scram-sha-256` over TCP, one random password kept in `<data>/pg-password` (0600) for both the
 * `postgres` superuser and the `meshwork` role that owns the `meshwork` database the coordinators use.
 * initdb refuses to run as root, so as root the cluster folder belongs to the `postgres` OS user and every
 * PostgreSQL binary runs through `runuser -u postgres --`.
 */
import postgres from 'postgres';
import { type Binaries, pgBinFor } from './binaries.ts';
import { assertPortFree, run, type Service, ServiceError, succeeds } from './process.ts';
import { readOrCreateSecret } from './secret.ts';

/** What `startPostgres` needs. */
export interface PostgresOptions {
  binaries: Binaries;
  dataDir: string;
  logDir: string;
  port: number;
  /** Prints a notice line (e.g. a server left running by an earlier run being stopped). */
  note: (line: string) => void;
}

/** The running server. */
export interface PostgresService extends Service {
  /** `postgres://meshwork:<password>@127.0.0.1:<port>/meshwork`: what the coordinators' `--store` takes. */
  url: string;
}

const NAME = 'postgres';

/** Creates the cluster when absent, starts it and makes sure the `meshwork` role and database exist. */
export async function startPostgres(o: PostgresOptions): Promise<PostgresService> {
  const asRoot = Deno.uid() === 0;
  const as = (argv: string[]) => (asRoot ? ['runuser', '-u', 'postgres', '--', ...argv] : argv);
  const pg = `${o.dataDir}/pg`;
  const log = `${o.logDir}/postgres.log`;
  const passwordFile = `${o.dataDir}/pg-password`;
  const version = await Deno.readTextFile(`${pg}/PG_VERSION`).then((v) => v.trim(), () => null);
  const bin = pgBinFor(o.binaries, version);

  await Deno.mkdir(pg, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(log, '', { append: true });
  if (asRoot) {
    await run(NAME, log, ['chown', 'postgres:', pg, log]);
    await run(NAME, log, as(['test', '-w', pg])).catch(() => {
      throw new ServiceError(NAME, log, `Cannot start ${NAME} as the postgres OS user cannot reach ${pg}: make its parent folders searchable (chmod o+x) or pick another --data-dir`);
    });
  }

  let password: string;
  if (version === null) {
    password = await readOrCreateSecret(passwordFile);
    await initdb(bin, pg, password, `${o.dataDir}/.pg-pwfile`, asRoot, log, as);
    o.note(`postgres: created a new cluster in ${pg}`);
  } else {
    password = await Deno.readTextFile(passwordFile).then((p) => p.trim(), () => {
      throw new ServiceError(NAME, log, `Cannot start ${NAME} as ${passwordFile} is missing for the cluster in ${pg}: restore it, or remove ${pg} to start afresh`);
    });
  }

  // A server still running on this folder was left by an earlier run that was killed: stop it cleanly first.
  if (await succeeds(as([`${bin}/pg_ctl`, '-D', pg, 'status']))) {
    o.note(`postgres: stopping a server an earlier run left running on ${pg}`);
    await run(NAME, log, as([`${bin}/pg_ctl`, '-D', pg, '-m', 'fast', '-w', '-t', '60', 'stop']));
  }
  await assertPortFree(NAME, log, o.port);

  const settings = `-c listen_addresses=127.0.0.1 -c port=${o.port} -c unix_socket_directories=''`;
  await run(NAME, log, as([`${bin}/pg_ctl`, '-D', pg, '-l', log, '-w', '-t', '60', '-o', settings, 'start']));
  let stopping: Promise<unknown> | undefined;
  const stop = async () => void await (stopping ??= succeeds(as([`${bin}/pg_ctl`, '-D', pg, '-m', 'fast', '-w', '-t', '60', 'stop'])));
  try {
    await ensureDatabase(`postgres://postgres:${password}@127.0.0.1:${o.port}/postgres`, password, log);
    const pid = Number((await Deno.readTextFile(`${pg}/postmaster.pid`)).split('\n')[0]);
    return {
      name: NAME,
      log,
      pid,
      url: `postgres://meshwork:${password}@127.0.0.1:${o.port}/meshwork`,
      summary: `postgres://meshwork@127.0.0.1:${o.port}/meshwork (password in ${passwordFile}; ${bin})`,
      ended: new Promise(() => {}),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function initdb(bin: string, pg: string, password: string, pwfile: string, asRoot: boolean, log: string, as: (argv: string[]) => string[]): Promise<void> {
  // initdb reads the superuser's password from a file, which the postgres OS user must be able to read.
  await Deno.writeTextFile(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (asRoot) await run(NAME, log, ['chown', 'postgres:', pwfile]);
    await run(NAME, log, as([
      `${bin}/initdb`, '-D', pg, '-U', 'postgres', '--pwfile', pwfile,
      '--auth-host=scram-sha-256', '--auth-local=peer', '-E', 'UTF8', '--locale=C.UTF-8',
    ]));
  } finally {
    await Deno.remove(pwfile).catch(() => {});
  }
}

/** Creates the `meshwork` role and database when missing (the password is hex, safe to quote in DDL). */
async function ensureDatabase(adminUrl: string, password: string, log: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, fetch_types: false, connect_timeout: 10 });
  try {
    const roles = await sql`SELECT 1 FROM pg_roles WHERE rolname = 'meshwork'`;
    if (roles.length === 0) await sql.unsafe(`CREATE ROLE meshwork LOGIN PASSWORD '${password}'`);
    const dbs = await sql`SELECT 1 FROM pg_database WHERE datname = 'meshwork'`;
    if (dbs.length === 0) await sql.unsafe('CREATE DATABASE meshwork OWNER meshwork');
  } catch (err) {
    throw new ServiceError(NAME, log, `Cannot set up the meshwork database as PostgreSQL refused: ${(err as Error).message}`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}
