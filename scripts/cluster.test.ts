/**
 * `npm run cluster` end to end: the script runs as a subprocess on free ports with a temporary data folder,
 * the way a user runs it, and is checked from outside: every service answers, then SIGINT leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from 'nats';
import postgres from 'postgres';
import { findBinaries } from './cluster/binaries.ts';
import { stunBinding } from './cluster/stun.ts';

const ROOT = decodeURIComponent(new URL('..', import.meta.url).pathname);
const SERVICES = ['postgres', 'nats', 'coturn', 'c1', 'c2'];
const UP_MS = 25_000;

function missingBinaries(): string | false {
  try {
    findBinaries(Deno.env.toObject());
    return false;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('npm run cluster', () => {
  it('starts PostgreSQL, NATS, coturn and two coordinators on free ports, and SIGINT stops every process', { skip: missingBinaries() }, async () => {
    const dir = await Deno.makeTempDir({ prefix: 'meshwork-cluster-' });
    // As root PostgreSQL runs as the postgres OS user, which must be able to reach <dir>/pg.
    await Deno.chmod(dir, 0o755);
    const [pgPort, natsPort, turnPort, httpPort] = freePorts();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        'run', '--allow-all', 'scripts/cluster.ts', '--data-dir', dir,
        '--pg-port', String(pgPort), '--nats-port', String(natsPort), '--turn-port', String(turnPort), '--http-port', String(httpPort),
        '--', '--log-level', 'warn',
      ],
      cwd: ROOT,
      stdin: 'null',
      stdout: 'piped',
      stderr: 'piped',
      env: { NO_COLOR: '1' },
    }).spawn();
    const out = collect(child);
    const pids = new Map<string, number>();
    try {
      assert.ok(await out.waitFor((l) => l.startsWith('cluster up'), UP_MS), `cluster not up within ${UP_MS} ms:\n${out.text()}`);
      for (const line of out.lines) {
        const m = /^(\S+)\s+ready\s.*\[pid (\d+), log /.exec(line);
        if (m) pids.set(m[1]!, Number(m[2]));
      }
      assert.deepEqual([...pids.keys()], SERVICES, out.text());
      for (const [name, pid] of pids) assert.ok(alive(pid), `${name} (pid ${pid}) is not running`);
      assert.ok(out.lines.includes(`  c1 http://127.0.0.1:${httpPort}`) && out.lines.includes(`  c2 http://127.0.0.1:${httpPort + 1}`), out.text());

      // Both coordinators answer, and hand peers the cluster's STUN server (coturn); a TURN entry, when the
      // coordinator lists one there, must be the cluster's relay.
      for (const port of [httpPort, httpPort + 1]) {
        assert.deepEqual(await getJson(`http://127.0.0.1:${port}/healthz`), { ok: true });
        const config = await getJson(`http://127.0.0.1:${port}/api/config`) as { iceServers: RTCIceServer[] };
        const urls = config.iceServers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
        assert.ok(urls.includes(`stun:127.0.0.1:${turnPort}`), JSON.stringify(config));
        for (const u of urls.filter((u) => u.startsWith('turn'))) assert.match(u, new RegExp(`^turns?:127\\.0\\.0\\.1:${turnPort}\\b`));
      }

      // NATS with JetStream.
      const nc = await connect({ servers: `127.0.0.1:${natsPort}`, reconnect: false });
      try {
        const info = await (await nc.jetstreamManager()).getAccountInfo();
        assert.ok(info.limits !== undefined, 'JetStream answers');
      } finally {
        await nc.close();
      }

      // coturn answers STUN on UDP and TCP; its secret is kept private and is the one in its configuration.
      assert.ok(await stunBinding('127.0.0.1', turnPort, 'udp', 2000), 'coturn answers STUN over UDP');
      assert.ok(await stunBinding('127.0.0.1', turnPort, 'tcp', 2000), 'coturn answers STUN over TCP');
      const secret = (await Deno.readTextFile(`${dir}/turn-secret`)).trim();
      assert.equal((await Deno.stat(`${dir}/turn-secret`)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(`${dir}/turnserver.conf`)).mode! & 0o777, 0o600);
      assert.ok((await Deno.readTextFile(`${dir}/turnserver.conf`)).includes(`static-auth-secret=${secret}\n`));

      // PostgreSQL: the meshwork role reaches its database, with durable settings, and both coordinators joined
      // the cluster there (their migrations ran and their heartbeats are in the instances table).
      const password = (await Deno.readTextFile(`${dir}/pg-password`)).trim();
      const sql = postgres(`postgres://meshwork:${password}@127.0.0.1:${pgPort}/meshwork`, { max: 1, onnotice: () => {}, fetch_types: false });
      try {
        const [row] = await sql`SELECT current_database() AS db, current_setting('fsync') AS fsync,
          current_setting('synchronous_commit') AS sync, to_regclass('schema_migrations') IS NOT NULL AS migrated`;
        assert.deepEqual({ db: row!.db, fsync: row!.fsync, sync: row!.sync, migrated: row!.migrated }, { db: 'meshwork', fsync: 'on', sync: 'on', migrated: true });
        const instances = await sql`SELECT id FROM market_instances ORDER BY id`;
        assert.deepEqual(instances.map((r) => r.id), ['c1', 'c2']);
      } finally {
        await sql.end();
      }

      child.kill('SIGINT');
      const status = await withTimeout(child.status, 20_000, 'the cluster did not stop within 20 s after SIGINT');
      await out.done;
      assert.equal(status.code, 0, out.text());
      const stopped = out.lines.filter((l) => / stopped$/.test(l)).map((l) => l.split(' ')[0]);
      assert.deepEqual(stopped, [...SERVICES].reverse(), 'stopped in reverse order');
      for (const [name, pid] of pids) assert.ok(!alive(pid), `${name} (pid ${pid}) is still running`);
      assert.deepEqual(processesMentioning(dir), [], 'no process left that uses the data folder');
    } finally {
      try {
        child.kill('SIGKILL');
      } catch {
        // exited
      }
      await child.status;
      await out.done;
      for (const pid of pids.values()) {
        try {
          if (alive(pid)) Deno.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
});

/** Four free TCP ports, the last with its successor free too (the second coordinator). */
function freePorts(): [number, number, number, number] {
  const held: Deno.Listener[] = [];
  const take = () => {
    const l = Deno.listen({ hostname: '127.0.0.1', port: 0 });
    held.push(l);
    return (l.addr as Deno.NetAddr).port;
  };
  try {
    const ports = [take(), take(), take()];
    for (;;) {
      const p = take();
      try {
        held.push(Deno.listen({ hostname: '127.0.0.1', port: p + 1 }));
        return [ports[0]!, ports[1]!, ports[2]!, p];
      } catch {
        // p + 1 is taken: try another
      }
    }
  } finally {
    for (const l of held) l.close();
  }
}

/** stdout and stderr, merged into lines as they come. */
function collect(child: Deno.ChildProcess) {
  const lines: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let rest = '';
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n')) {
        lines.push(rest.slice(0, i));
        rest = rest.slice(i + 1);
      }
    }
    if (rest) lines.push(rest);
  };
  let ended = false;
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]).then(() => void (ended = true));
  return {
    lines,
    done,
    text: () => lines.join('\n'),
    async waitFor(match: (line: string) => boolean, ms: number): Promise<boolean> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (lines.some(match)) return true;
        if (ended) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    },
  };
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return await res.json();
}

/** Running, and not a zombie waiting for a parent that does not reap (a postmaster after pg_ctl left). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose command line names `dir`. */
function processesMentioning(dir: string): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync('/proc')) {
    if (!/^\d+$/.test(e.name) || !alive(Number(e.name))) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll('\0', ' ');
      if (cmdline.includes(dir)) found.push(`${e.name}: ${cmdline}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
