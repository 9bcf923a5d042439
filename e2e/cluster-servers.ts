// Throwaway PostgreSQL and NATS servers for e2e specs of a coordinator cluster, on 127.0.0.1 and free ports:
// the machine's own binaries (RECIPES.md), data in temp dirs, durability off. As root, PostgreSQL's cluster
// belongs to the `postgres` OS user and its binaries run through runuser (initdb refuses root).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './fixtures.ts';

/** A running throwaway server. */
export interface Server {
  url: string;
  stop(): Promise<void>;
}

function pgBin(): string {
  const env = process.env.PG_BIN;
  if (env) return env;
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  const dir = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(`${d}/initdb`));
  if (!dir) throw new Error('Cannot start PostgreSQL as its binaries are missing: apt-get install -y postgresql');
  return dir;
}

function run(argv: string[], asRoot: boolean): void {
  const [cmd, ...args] = asRoot ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`Cannot run ${argv[0]}: ${r.stderr || r.stdout}`);
}

/** Starts PostgreSQL with one database `meshwork`; resolves with its URL. */
export async function startPostgres(): Promise<Server> {
  const bin = pgBin();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-e2e-pg-'));
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gw = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pw.stdout.trim()), Number(gw.stdout.trim()));
  }
  run([`${bin}/initdb`, '-D', `${dir}/data`, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], asRoot);
  const port = await freePort();
  const flags = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300`;
  run([`${bin}/pg_ctl`, '-D', `${dir}/data`, '-l', `${dir}/log`, '-w', '-t', '30', '-o', flags, 'start'], asRoot);
  run([`${bin}/psql`, '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', 'CREATE DATABASE meshwork'], asRoot);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/meshwork`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      try {
        run([`${bin}/pg_ctl`, '-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop'], asRoot);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Starts nats-server with JetStream; resolves once its log says it is ready. */
export async function startNats(): Promise<Server> {
  const bin = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-e2e-nats-'));
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), '-l', join(dir, 'log')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (const end = Date.now() + 10_000; ;) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'log'), 'utf8');
    } catch {
      // not written yet
    }
    if (log.includes('Server is ready')) return { url: `nats://127.0.0.1:${port}`, stop };
    if (Date.now() > end || child.exitCode !== null) {
      await stop();
      throw new Error(`Cannot start ${bin} on port ${port}: not ready within 10 s: ${log.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
