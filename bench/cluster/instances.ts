/**
 * Coordinator instances as separate OS processes (`deno run -A coordinator/main.ts`), each on its own port of
 * 127.0.0.1, all on one PostgreSQL database and one NATS bus, as an operator runs a cluster. Each one's output
 * goes to a log file beside its data folder (read back when something fails, and to count warnings).
 */
import postgres from 'postgres';

/** Lease length of every instance: a lease's `expiresAt` minus this is when it was given. */
export const LEASE_MS = 600_000;

/** Flags every instance gets on top of host, port, data, store, bus and instance id. */
const COMMON_FLAGS = [
  '--trust-newcomers', 'on',
  '--log-level', 'warn',
  '--rate', '100000',
  '--burst', '100000',
  '--min-escrow', '0',
  // Every peer of the bench comes from 127.0.0.1: the per-address cap would count them all as one.
  '--max-conns-per-ip', '100000',
  // Long enough that nothing expires or is paid by a timer during a phase: every payment is a receipt.
  '--lease-ms', String(LEASE_MS),
  '--claim-window-ms', '600000',
  '--static', '/nonexistent-meshwork-static',
];

/** A running coordinator process. */
export interface Instance {
  id: string;
  url: string;
  port: number;
  pid: number;
  /** Where its stdout and stderr go. */
  log: string;
  /** Resolves when the process has exited. */
  exited: Promise<Deno.CommandStatus>;
  /** kill -9: no goodbye to the cluster, nothing flushed. */
  kill(): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Where instances of one bench run keep their data and logs, and how they reach PostgreSQL and NATS. */
export interface ClusterPlace {
  /** The database of this phase (`freshDatabase`). */
  store: string;
  bus: string;
  dir: string;
}

/** Starts `coordinator/main.ts` as instance `id` and waits until its /healthz answers (at most `timeoutMs`). */
export async function startInstance(place: ClusterPlace, id: string, timeoutMs = 30_000): Promise<Instance> {
  const port = freePort();
  const data = `${place.dir}/${id}-${port}`;
  await Deno.mkdir(data, { recursive: true });
  const log = `${data}/log`;
  const args = ['run', '-A', 'coordinator/main.ts', '--host', '127.0.0.1', '--port', String(port), '--data', data, '--store', place.store, '--bus', place.bus, '--instance-id', id, ...COMMON_FLAGS];
  const child = new Deno.Command('node_modules/.bin/deno', { args, stdin: 'null', stdout: 'piped', stderr: 'piped' }).spawn();
  const file = await Deno.open(log, { write: true, create: true, append: true });
  // Both streams into one file, closed once both ended.
  const sink = () => new WritableStream<Uint8Array>({ write: (chunk) => writeAll(file, chunk) });
  const errs = child.stderr.pipeTo(sink()).catch(() => {});
  const outs = child.stdout.pipeTo(sink()).catch(() => {});
  const exited = child.status.then(async (s) => {
    await Promise.all([errs, outs]);
    file.close();
    return s;
  });
  let gone = false;
  exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const instance: Instance = {
    id,
    url,
    port,
    pid: child.pid,
    log,
    exited,
    kill: () => {
      if (!gone) child.kill('SIGKILL');
    },
    stop: async (graceMs = 8_000) => {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => !gone && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && !gone) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return instance;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  instance.kill();
  await exited;
  throw new Error(`Cannot start instance ${id} as ${url}/healthz never answered within ${timeoutMs} ms: its log ends with ${await tail(log)}`);
}

/** Starts instances `b0..b{n-1}` one after the other (each migrates the store; the first does the work). */
export async function startInstances(place: ClusterPlace, n: number, prefix = 'b'): Promise<Instance[]> {
  const out: Instance[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(await startInstance(place, `${prefix}${i}`));
  } catch (err) {
    await Promise.all(out.map((x) => x.stop()));
    throw err;
  }
  return out;
}

/** A new empty database on the server of `serverUrl`; returns its URL. */
export async function freshDatabase(serverUrl: string, label: string): Promise<string> {
  const name = `bench_${label}_${crypto.randomUUID().slice(0, 8)}`;
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.href;
}

/** Warning and error lines an instance logged (JSON lines with a `level`; any other line is a crash's trace). */
export async function logProblems(log: string): Promise<{ warn: number; error: number; samples: string[] }> {
  const text = await Deno.readTextFile(log).catch(() => '');
  const out = { warn: 0, error: 0, samples: [] as string[] };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const level = /"level":"(\w+)"/.exec(line)?.[1] ?? 'error';
    if (level !== 'warn' && level !== 'error') continue;
    out[level]++;
    if (out.samples.length < 5) out.samples.push(line.slice(0, 300));
  }
  return out;
}

/** `logProblems` summed over instances (at most five sample lines in all). */
export async function logsOf(instances: readonly Instance[]): Promise<{ warn: number; error: number; samples: string[] }> {
  const out = { warn: 0, error: 0, samples: [] as string[] };
  for (const i of instances) {
    const p = await logProblems(i.log);
    out.warn += p.warn;
    out.error += p.error;
    out.samples.push(...p.samples.slice(0, 5 - out.samples.length));
  }
  return out;
}

/** The last characters of a file. */
export async function tail(path: string, chars = 2000): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => '');
  return text.slice(-chars);
}

function writeAll(file: Deno.FsFile, chunk: Uint8Array): void {
  for (let at = 0; at < chunk.length;) at += file.writeSync(chunk.subarray(at));
}

function freePort(): number {
  const listener = Deno.listen({ hostname: '127.0.0.1', port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
