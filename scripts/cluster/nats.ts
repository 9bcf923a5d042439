/**
 * The cluster's NATS server: nats-server with JetStream (the coordinators' peer directory is a JetStream KV
 * bucket), its store kept in `<data>/nats` across runs, clients on 127.0.0.1 only and without auth.
 */
import type { Binaries } from './binaries.ts';
import { pidFile } from './leftovers.ts';
import { assertPortFree, type Service, ServiceError, spawnLogged, waitFor } from './process.ts';

/** What `startNats` needs. */
export interface NatsOptions {
  binaries: Binaries;
  dataDir: string;
  logDir: string;
  port: number;
}

const NAME = 'nats';
const READY_MS = 15_000;

/** Starts nats-server and waits for "Server is ready" (printed once JetStream has loaded its store). */
export async function startNats(o: NatsOptions): Promise<Service & { url: string }> {
  const log = `${o.logDir}/nats.log`;
  const store = `${o.dataDir}/nats`;
  await assertPortFree(NAME, log, o.port);
  await Deno.mkdir(store, { recursive: true, mode: 0o700 });
  let ready = false;
  const child = await spawnLogged({
    name: NAME,
    cmd: o.binaries.nats,
    args: ['-a', '127.0.0.1', '-p', String(o.port), '-js', '-sd', store],
    log,
    setsid: o.binaries.setsid,
    pidFile: pidFile(o.dataDir, NAME),
    onLine: (line) => (ready ||= line.includes('Server is ready')),
  });
  if (!await waitFor(() => ready, READY_MS, child.exited)) {
    await child.stop(2000);
    const why = child.exited() && !ready ? `it exited (${child.lastWords()})` : `it was not ready within ${READY_MS / 1000} s`;
    throw new ServiceError(NAME, log, `Cannot start ${NAME} as ${why}`);
  }
  const url = `nats://127.0.0.1:${o.port}`;
  return {
    name: NAME,
    log,
    pid: child.pid,
    url,
    summary: `${url} (JetStream store ${store})`,
    ended: child.status.then((s) => `exited with code ${s.code}`),
    stop: () => child.stop(5000),
  };
}
