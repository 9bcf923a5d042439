/**
 * Child processes of the cluster script: each one's output appended to its log file line by line (and shown to
 * a listener), its exit watched, and a stop that asks politely (SIGTERM) before SIGKILL.
 *
 * Children run under `setsid`, in a session of their own: a Ctrl-C in the terminal then reaches the script only,
 * which stops the services in reverse order (coordinators before the bus and the database they use) instead of
 * every process getting SIGINT at once. setsid execs in place (a child of Deno is never a group leader), so the
 * pid is the server's own.
 */

/** A service that failed to start or stopped on its own: names it and the log to read. */
export class ServiceError extends Error {
  override name = 'ServiceError';
  /** 'postgres', 'nats', 'coturn', 'c1', ... */
  readonly service: string;
  /** Path of the service's log file. */
  readonly log: string;
  constructor(service: string, log: string, message: string) {
    super(message);
    this.service = service;
    this.log = log;
  }
}

/** A running service, as the script supervises it. */
export interface Service {
  name: string;
  /** Its log file. */
  log: string;
  /** The server process (for PostgreSQL, the postmaster). */
  pid: number;
  /** One line for the "ready" report: address and what matters about it. */
  summary: string;
  /** Resolves with a reason when the process ends without being asked to; never for a daemon. */
  ended: Promise<string>;
  /** Stops it and waits until it is gone; idempotent. */
  stop(): Promise<void>;
}

/** What `spawnLogged` starts. */
export interface SpawnOptions {
  /** Service name, for messages. */
  name: string;
  cmd: string;
  args: string[];
  /** Log file, appended to (created when absent). */
  log: string;
  /** util-linux setsid, or null to run the command directly. */
  setsid: string | null;
  cwd?: string;
  /** Extra environment variables (the rest is inherited). */
  env?: Record<string, string>;
  /** Called with each line of stdout and stderr. */
  onLine?: (line: string) => void;
  /** Holds the pid while the process runs (see leftovers.ts). */
  pidFile?: string;
}

/** A started child. */
export interface LoggedChild {
  pid: number;
  /** Settles when the process has exited and its output is in the log. */
  status: Promise<Deno.CommandStatus>;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
  /** Why it ended, for a message: the last error line it printed, else its last line. */
  lastWords(): string;
}

const TAIL_LINES = 8;

/** Starts `cmd` with its output going to `log`; throws ServiceError when it cannot be executed. */
export async function spawnLogged(o: SpawnOptions): Promise<LoggedChild> {
  const file = await Deno.open(o.log, { append: true, create: true });
  const [cmd, args] = o.setsid ? [o.setsid, [o.cmd, ...o.args]] : [o.cmd, o.args];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, { args, stdin: 'null', stdout: 'piped', stderr: 'piped', ...(o.cwd ? { cwd: o.cwd } : {}), ...(o.env ? { env: o.env } : {}) }).spawn();
  } catch (err) {
    file.close();
    throw new ServiceError(o.name, o.log, `Cannot start ${o.name} as ${o.cmd} did not run: ${(err as Error).message}`);
  }
  if (o.pidFile) await Deno.writeTextFile(o.pidFile, `${child.pid}\n`);
  const tail: string[] = [];
  const encoder = new TextEncoder();
  // A header per run: the log is appended to across runs.
  let writes = writeAll(file, encoder.encode(`--- ${new Date().toISOString()} started: ${o.cmd} ${o.args.join(' ')}\n`)).catch(() => {});
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    writes = writes.then(() => writeAll(file, encoder.encode(`${line}\n`))).catch(() => {});
    o.onLine?.(line);
  };
  const pumps = Promise.all([eachLine(child.stdout, onLine), eachLine(child.stderr, onLine)]);
  let done = false;
  const status = (async () => {
    const s = await child.status;
    // A grandchild holding the pipes open must not keep the log from closing: wait briefly for the rest.
    await Promise.race([pumps.catch(() => {}), sleep(1000)]);
    await writes;
    file.close();
    if (o.pidFile) await Deno.remove(o.pidFile).catch(() => {});
    done = true;
    return s;
  })();
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    status,
    exited: () => done,
    lastWords: () => [...tail].reverse().find((l) => /error|fatal/i.test(l))?.trim() ?? tail.at(-1)?.trim() ?? 'no output',
    stop: (graceMs) =>
      stopping ??= (async () => {
        if (done) return;
        signal(child, 'SIGTERM');
        const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
        await status;
        clearTimeout(timer);
      })(),
  };
}

/** Runs a command to completion; throws ServiceError with its output when it fails. */
export async function run(service: string, log: string, argv: string[]): Promise<string> {
  const [cmd, ...args] = argv;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd!, { args, stdin: 'null', stdout: 'piped', stderr: 'piped' }).output();
  } catch (err) {
    throw new ServiceError(service, log, `Cannot start ${service} as ${cmd} did not run: ${(err as Error).message}`);
  }
  const text = `${new TextDecoder().decode(out.stdout)}${new TextDecoder().decode(out.stderr)}`.trim();
  if (!out.success) {
    const program = (argv[0] === 'runuser' ? argv[4] : argv[0])?.split('/').pop();
    throw new ServiceError(service, log, `Cannot start ${service} as ${program} exited with ${out.code}: ${text.split('\n').slice(-4).join(' | ')}`);
  }
  return text;
}

/** Runs a command to completion, output discarded; resolves whether it succeeded (false when it cannot run). */
export async function succeeds(argv: string[]): Promise<boolean> {
  const [cmd, ...args] = argv;
  try {
    return (await new Deno.Command(cmd!, { args, stdin: 'null', stdout: 'null', stderr: 'null' }).output()).success;
  } catch {
    return false;
  }
}

/** Resolves true when `check` does within `ms` (tried every `everyMs`), false on timeout or when `gone()` turns true. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms: number, gone: () => boolean = () => false, everyMs = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !gone()) {
    if (await check()) return true;
    await sleep(everyMs);
  }
  return false;
}

/** Throws ServiceError when 127.0.0.1:`port` is taken for TCP (or UDP), before a server fails on it less clearly. */
export async function assertPortFree(service: string, log: string, port: number, udp = false): Promise<void> {
  const free = udp ? await udpFree(port) : tcpFree(port);
  if (!free) throw new ServiceError(service, log, `Cannot start ${service} as 127.0.0.1:${port} (${udp ? 'UDP' : 'TCP'}) is in use: stop what holds it or pick another port (--help)`);
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tcpFree(port: number): boolean {
  try {
    Deno.listen({ hostname: '127.0.0.1', port }).close();
    return true;
  } catch {
    return false;
  }
}

async function udpFree(port: number): Promise<boolean> {
  // Deno.listenDatagram needs --unstable-net; node:dgram does not.
  const { createSocket } = await import('node:dgram');
  return await new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // already gone
  }
}

async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n')) {
      onLine(rest.slice(0, i).replace(/\r$/, ''));
      rest = rest.slice(i + 1);
    }
  }
  if (rest !== '') onLine(rest);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}
