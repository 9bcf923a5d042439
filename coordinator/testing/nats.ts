/**
 * A throwaway NATS server for tests and benches: Debian's `nats-server` (2.9) on 127.0.0.1 and a free port,
 * JetStream on (the cluster directory's KV buckets need it) with its store in a temp dir. Ready in ~0.2 s.
 */
import { freePort } from './ports.ts';

/** Where the binary is looked for (env NATS_SERVER overrides). */
export const NATS_SERVER = Deno.env.get('NATS_SERVER') ?? '/usr/sbin/nats-server';

/** A running throwaway server. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Kills the server and removes its directory; idempotent. */
  stop(): Promise<void>;
}

/** Starts nats-server with JetStream; throws when the binary is missing or it does not become ready in 10 s. */
export async function startNats(): Promise<NatsServer> {
  const dir = await Deno.makeTempDir({ prefix: 'meshwork-nats-' });
  for (let attempt = 1; ; attempt++) {
    const port = freePort();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(NATS_SERVER, {
        args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', `${dir}/js`, '-l', `${dir}/log`],
        stdin: 'null',
        stdout: 'null',
        stderr: 'null',
      }).spawn();
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`Cannot start a NATS server as ${NATS_SERVER} did not run (apt-get install -y nats-server): ${(err as Error).message}`, { cause: err });
    }
    const exited = child.status;
    let stopped: Promise<void> | undefined;
    const stop = () =>
      stopped ??= (async () => {
        try {
          child.kill('SIGKILL');
        } catch {
          // already gone
        }
        await exited;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      })();
    if (await ready(`${dir}/log`, exited)) return { url: `nats://127.0.0.1:${port}`, port, stop };
    await stop().catch(() => {});
    if (attempt >= 3) throw new Error(`Cannot start a NATS server on 127.0.0.1 as it did not become ready within 10 s (3 tries): see its log`);
    await Deno.mkdir(dir, { recursive: true });
  }
}

async function ready(log: string, exited: Promise<Deno.CommandStatus>): Promise<boolean> {
  let gone = false;
  exited.then(() => (gone = true));
  const end = Date.now() + 10_000;
  while (Date.now() < end && !gone) {
    const text = await Deno.readTextFile(log).catch(() => '');
    if (text.includes('Server is ready')) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

