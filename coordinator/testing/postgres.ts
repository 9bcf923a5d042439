/**
 * A throwaway PostgreSQL server for tests, benches and tools: the machine's own binaries, a fresh cluster in a
 * temp dir, listening on 127.0.0.1 and a free port, with durability off (`fsync=off`, `synchronous_commit=off`)
 * since nothing in it outlives the process. initdb refuses to run as root, so as root the cluster belongs to the
 * `postgres` OS user and every binary runs through `runuser`.
 *
 * Start-up costs ~1 s, so tests share one server per process (`sharedPostgres`) and each takes a database of
 * its own (`testDatabase`), dropped when done. The shared server is stopped when the process unloads.
 */
import { freePort } from './ports.ts';
import postgres from 'postgres';

/** The command that installs the server binaries; also the message thrown when they are missing. */
export const INSTALL_COMMAND = 'apt-get install -y postgresql';

/** A running throwaway server. */
export interface PostgresServer {
  /** Connection URL of the `postgres` superuser's default database (trust auth, no password). */
  url: string;
  /** Stops the server at once (`pg_ctl -m immediate`) and removes its directory; idempotent. */
  stop(): Promise<void>;
}

/** Options of `startPostgres`. */
export interface StartPostgresOptions {
  /** Directories to look for initdb and pg_ctl in, first match wins (default: env PG_BIN, then /usr/lib/postgresql/<newest>/bin). */
  binDirs?: string[];
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
}

/** Starts a fresh PostgreSQL cluster; throws Error(INSTALL_COMMAND) when the binaries are missing. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = findBinDir(opts.binDirs ?? defaultBinDirs());
  const asRoot = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: 'meshwork-pg-' });
  const data = `${dir}/data`;
  let started = false;
  try {
    if (asRoot) await exec(['chown', 'postgres:', dir], false);
    await exec([`${bin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], asRoot);
    const settings: Record<string, string | number> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: 200,
      ...opts.settings,
    };
    // The free port is found by binding and releasing it; another process may take it first, so retry.
    for (let attempt = 1; ; attempt++) {
      const port = freePort();
      const flags = Object.entries({ ...settings, port }).map(([k, v]) => `-c ${k}=${v}`).join(' ');
      try {
        await exec([`${bin}/pg_ctl`, '-D', data, '-l', `${dir}/log`, '-w', '-t', '30', '-o', flags, 'start'], asRoot);
        started = true;
        const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
        servers.set(url, { bin, dir, asRoot });
        return { url, stop: stopper(url) };
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  } finally {
    if (!started) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

let shared: Promise<PostgresServer> | undefined;

/** One server per process, started on first use and stopped when the process unloads. */
export function sharedPostgres(): Promise<PostgresServer> {
  if (!shared) {
    shared = startPostgres();
    shared.then((server) => {
      // unload handlers cannot await, so stop synchronously.
      globalThis.addEventListener('unload', () => stopSync(server.url));
    }, () => {});
  }
  return shared;
}

/** Stops the shared server now, if one was started (a suite that wants no server left between its files). */
export async function stopSharedPostgres(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).stop();
}

/** A fresh database `t_<random>` on the shared server; `drop()` closes its other connections and drops it. */
export async function testDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = await sharedPostgres();
  const name = `t_${crypto.randomUUID().replaceAll('-', '')}`;
  await admin(server.url, (sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: () => admin(server.url, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

async function admin(url: string, fn: (sql: postgres.Sql) => Promise<unknown>): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    await fn(sql);
  } finally {
    await sql.end();
  }
}

const servers = new Map<string, { bin: string; dir: string; asRoot: boolean }>();

function stopper(url: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      const s = servers.get(url);
      if (!s) return;
      servers.delete(url);
      const { bin, dir, asRoot } = s;
      await exec([`${bin}/pg_ctl`, '-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop'], asRoot).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
    return stopping;
  };
}

function stopSync(url: string): void {
  const s = servers.get(url);
  if (!s) return;
  servers.delete(url);
  const argv = [`${s.bin}/pg_ctl`, '-D', `${s.dir}/data`, '-m', 'immediate', '-w', 'stop'];
  const [cmd, ...args] = s.asRoot ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
  try {
    new Deno.Command(cmd!, { args, stdin: 'null', stdout: 'null', stderr: 'null' }).outputSync();
    Deno.removeSync(s.dir, { recursive: true });
  } catch {
    // Best effort at exit: a leftover temp dir is harmless.
  }
}

function defaultBinDirs(): string[] {
  const dirs: string[] = [];
  const env = Deno.env.get('PG_BIN');
  if (env) dirs.push(env);
  try {
    const versions = [...Deno.readDirSync('/usr/lib/postgresql')].map((e) => e.name).filter((n) => /^\d+$/.test(n));
    // Prefer 15 (what production runs), then the newest installed.
    versions.sort((a, b) => (a === '15' ? -1 : b === '15' ? 1 : Number(b) - Number(a)));
    dirs.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // No /usr/lib/postgresql: nothing installed the Debian way.
  }
  return dirs;
}

function findBinDir(dirs: string[]): string {
  for (const dir of dirs) {
    if (isFile(`${dir}/initdb`) && isFile(`${dir}/pg_ctl`)) return dir;
  }
  throw new Error(INSTALL_COMMAND);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}


async function exec(argv: string[], asPostgres: boolean): Promise<void> {
  const [cmd, ...args] = asPostgres ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
  const out = await new Deno.Command(cmd!, { args, stdin: 'null', stdout: 'piped', stderr: 'piped' }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim() || new TextDecoder().decode(out.stdout).trim();
    throw new Error(`Cannot run ${argv[0]} as it exited with ${out.code}: current output is ${text.slice(-2000)}`);
  }
}
