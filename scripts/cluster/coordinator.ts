/**
 * One coordinator of the cluster: `deno run --allow-all coordinator/main.ts`, as `npm start` runs it, with the
 * shared store, bus and TURN relay. The store URL (it holds the database password) and the TURN secret go
 * through the environment variables the coordinator reads (MESHWORK_STORE, MESHWORK_TURN_SECRET) rather than
 * `--store` and `--turn-secret`, so they stay out of the process list.
 */
import { pidFile } from './leftovers.ts';
import { assertPortFree, type Service, ServiceError, spawnLogged, waitFor } from './process.ts';

/** What `startCoordinator` needs. */
export interface CoordinatorOptions {
  /** Instance id and service name: 'c1', 'c2'. */
  name: string;
  port: number;
  /** The repository root: the coordinator runs there, so `--static ./dist` is the built PWA. */
  root: string;
  dataDir: string;
  logDir: string;
  setsid: string | null;
  /** postgres:// URL of the shared database. */
  store: string;
  /** nats:// URL of the shared bus. */
  bus: string;
  turnUrls: string[];
  turnSecret: string;
  /** STUN server handed to peers in /api/config's iceServers. */
  stunUrl: string;
  /** More flags, after these (the coordinator takes the last value of a repeated flag). */
  extraArgs: string[];
  /** Each line the coordinator prints. */
  onLine: (line: string) => void;
}

const READY_MS = 60_000;

/** Starts a coordinator and waits for its `listening` line. */
export async function startCoordinator(o: CoordinatorOptions): Promise<Service & { url: string }> {
  const log = `${o.logDir}/${o.name}.log`;
  await assertPortFree(o.name, log, o.port);
  let url = '';
  const child = await spawnLogged({
    name: o.name,
    cmd: Deno.execPath(),
    args: [
      'run', '--allow-all', 'coordinator/main.ts',
      '--host', '127.0.0.1',
      '--port', String(o.port),
      '--data', `${o.dataDir}/${o.name}`,
      '--instance-id', o.name,
      '--bus', o.bus,
      '--turn-url', o.turnUrls.join(','),
      '--ice', JSON.stringify([{ urls: o.stunUrl }]),
      ...o.extraArgs,
    ],
    // NO_COLOR: Deno's own error output lands in a log file.
    env: { MESHWORK_STORE: o.store, MESHWORK_TURN_SECRET: o.turnSecret, NO_COLOR: '1' },
    cwd: o.root,
    log,
    setsid: o.setsid,
    pidFile: pidFile(o.dataDir, o.name),
    onLine: (line) => {
      if (!url && line.includes('"listening"')) url = listeningUrl(line);
      o.onLine(line);
    },
  });
  if (!await waitFor(() => url !== '', READY_MS, child.exited)) {
    await child.stop(3000);
    throw new ServiceError(o.name, log, `Cannot start ${o.name} as ${child.exited() && !url ? `it exited (${messageOf(child.lastWords())})` : `it did not listen within ${READY_MS / 1000} s`}`);
  }
  return {
    name: o.name,
    log,
    pid: child.pid,
    url,
    summary: `${url} (instance ${o.name}, ledger in ${o.dataDir}/${o.name})`,
    ended: child.status.then((s) => `exited with code ${s.code}`),
    // The coordinator closes sockets and its store on SIGTERM and gives itself 5 s; SIGKILL after 8.
    stop: () => child.stop(8000),
  };
}

function listeningUrl(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
    return entry.msg === 'listening' && typeof entry.url === 'string' ? entry.url.replace(/\/$/, '') : '';
  } catch {
    return '';
  }
}

/** The `msg` of a JSON log line, or the line. */
function messageOf(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: unknown };
    return typeof entry.msg === 'string' ? entry.msg : line;
  } catch {
    return line;
  }
}
