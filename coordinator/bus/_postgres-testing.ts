/**
 * A throwaway PostgreSQL server for the bus and cluster tests and the bus bench, on 127.0.0.1 and a free port.
 *
 * TEMPORARY: a minimal private stand-in until `coordinator/testing/postgres.ts` (branch `pg-ledger`) lands on
 * main; it exports the same `startPostgres` and `testDatabase` shapes, so replacing it is changing the import.
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` OS user (`runuser`), as
 * RECIPES.md shows. Durability is off: nothing in it outlives the process.
 */
import postgres from 'postgres';

/** A running throwaway server. */
export interface PostgresServer {
  /** URL of the superuser's default database (trust auth, no password). */
  url: string;
  /** Stops the server at once and removes its directory; idempotent. */
  stop(): Promise<void>;
}

const BIN = Deno.env.get('PG_BIN') ?? '/usr/lib/postgresql/15/bin';

/** Starts a fresh cluster (~1 s). */
export async function startPostgres(): Promise<PostgresServer> {
  const asRoot = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: 'meshwork-bus-pg-' });
  if (asRoot) await exec(['chown', 'postgres:', dir], false);
  await exec([`${BIN}/initdb`, '-D', `${dir}/data`, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'], asRoot);
  const port = freePort();
  const flags = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c max_connections=200`;
  await exec([`${BIN}/pg_ctl`, '-D', `${dir}/data`, '-l', `${dir}/log`, '-w', '-o', flags, 'start'], asRoot);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await exec([`${BIN}/pg_ctl`, '-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop'], asRoot).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
}

let shared: Promise<PostgresServer> | undefined;

/** One server per test process, started on first use; stop it with `stopSharedPostgres` in the last test. */
export function sharedPostgres(): Promise<PostgresServer> {
  return shared ??= startPostgres();
}

/** Stops the shared server, if one was started. */
export async function stopSharedPostgres(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).stop();
}

/** A fresh database on the shared server; `drop()` drops it. */
export async function testDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = await sharedPostgres();
  const name = `t_${crypto.randomUUID().replaceAll('-', '')}`;
  await admin(server.url, `CREATE DATABASE ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(server.url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function admin(url: string, statement: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end();
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function exec(argv: string[], asPostgres: boolean): Promise<void> {
  const [cmd, ...args] = asPostgres ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
  const out = await new Deno.Command(cmd!, { args, stdin: 'null', stdout: 'piped', stderr: 'piped' }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim() || new TextDecoder().decode(out.stdout).trim();
    throw new Error(`Cannot run ${argv[0]} as it exited with ${out.code}: current output is ${text.slice(-1000)}`);
  }
}
