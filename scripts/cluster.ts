/**
 * `npm run cluster`: a whole cluster on one machine, on 127.0.0.1, for trying clustering out: PostgreSQL (the
 * shared store), nats-server with JetStream (the bus), coturn (the TURN relay) and two coordinators, c1 and c2,
 * sharing them. State is kept under `--data-dir` (default ./data/cluster) and reused by the next run.
 *
 * Prints one line per service as it becomes ready, then the coordinators' URLs, then the coordinators' logs,
 * each line prefixed with the instance. SIGINT (Ctrl-C), SIGTERM or SIGHUP stops everything in reverse order
 * and exits 0. A service that fails to start (or dies later) stops the others; the script then exits 1 with a
 * message naming the service and its log file. Flags and ports: `--help` (scripts/cluster/options.ts).
 */
import { findBinaries } from './cluster/binaries.ts';
import { stopLeftovers } from './cluster/leftovers.ts';
import { startCoordinator } from './cluster/coordinator.ts';
import { startCoturn } from './cluster/coturn.ts';
import { startNats } from './cluster/nats.ts';
import { type ClusterOptions, parseClusterOptions, USAGE } from './cluster/options.ts';
import { startPostgres } from './cluster/postgres.ts';
import { type Service, ServiceError } from './cluster/process.ts';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** Thrown between start steps once a signal has come. */
const STOPPED = Symbol('stopped');

/** Runs the cluster until a signal or a failure; resolves with the exit code. */
export async function main(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (own.includes('--help') || own.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const cwd = Deno.cwd();
  const show = (text: string) => text.replaceAll(`${cwd}/`, '');
  let o: ClusterOptions;
  let binaries;
  try {
    o = parseClusterOptions(args, env, cwd);
    binaries = findBinaries(env);
  } catch (err) {
    console.error(`cluster: ${(err as Error).message}`);
    return err instanceof RangeError || err instanceof TypeError ? 2 : 1;
  }
  const root = decodeURIComponent(new URL('..', import.meta.url).pathname).replace(/\/$/, '');
  const logDir = `${o.dataDir}/logs`;
  await Deno.mkdir(logDir, { recursive: true });
  // Logs are appended across runs: an error quotes only what this run wrote.
  const logStart = new Map<string, number>();
  for (const e of Deno.readDirSync(logDir)) logStart.set(`${logDir}/${e.name}`, Deno.statSync(`${logDir}/${e.name}`).size);

  let signalled = '';
  let onSignal = () => {};
  const signal = new Promise<void>((resolve) => (onSignal = resolve));
  const handlers = SIGNALS.map((sig) => {
    const handler = () => {
      if (signalled) return; // npm forwards the terminal's SIGINT too: one is enough
      signalled = sig;
      console.log(`cluster: ${sig}, stopping`);
      onSignal();
    };
    Deno.addSignalListener(sig, handler);
    return () => Deno.removeSignalListener(sig, handler);
  });

  // Coordinator lines wait until the ready report is complete, so it reads as one block.
  let held: string[] | null = [];
  const echo = (name: string) => (line: string) => {
    const out = `${name} | ${line}`;
    if (held) held.push(out);
    else console.log(out);
  };

  const services: Service[] = [];
  const note = (line: string) => console.log(show(line));
  await stopLeftovers(o.dataDir, note);
  let code = 0;
  // Each step reports its service and, after a signal, skips the rest.
  const started = async <T extends Service>(starting: Promise<T>): Promise<T> => {
    const s = await starting;
    services.push(s);
    console.log(show(`${s.name.padEnd(8)} ready  ${s.summary}  [pid ${s.pid}, log ${s.log}]`));
    if (signalled) throw STOPPED;
    return s;
  };
  try {
    const pg = await started(startPostgres({ binaries, dataDir: o.dataDir, logDir, port: o.pgPort, note }));
    const nats = await started(startNats({ binaries, dataDir: o.dataDir, logDir, port: o.natsPort }));
    const turn = await started(startCoturn({ binaries, dataDir: o.dataDir, logDir, port: o.turnPort, relayPorts: o.relayPorts }));
    const coordinators = [];
    for (const [i, name] of ['c1', 'c2'].entries()) {
      coordinators.push(await started(startCoordinator({
        name,
        port: o.httpPort + i,
        root,
        dataDir: o.dataDir,
        logDir,
        setsid: binaries.setsid,
        store: pg.url,
        bus: nats.url,
        turnUrls: turn.turnUrls,
        turnSecret: turn.secret,
        stunUrl: turn.stunUrl,
        extraArgs: o.coordinatorArgs,
        onLine: echo(name),
      })));
    }
    console.log('cluster up (Ctrl-C stops it):');
    for (const c of coordinators) console.log(`  ${c.name} ${c.url}`);
    try {
      Deno.statSync(`${root}/dist/index.html`);
    } catch {
      console.log('  (no dist/ build: the coordinators serve the API only; `npm run build` adds the PWA)');
    }
    for (const line of held) console.log(line);
    held = null;
    const died = await Promise.race([signal.then(() => null), ...services.map((s) => s.ended.then((why) => ({ s, why })))]);
    if (died && !signalled) {
      console.error(show(`cluster: ${died.s.name} ${died.why}: see ${died.s.log}; stopping the others`));
      code = 1;
    }
  } catch (err) {
    if (held) for (const line of held) console.log(line);
    held = null;
    if (err === STOPPED) return code;
    if (!(err instanceof ServiceError)) throw err;
    console.error(show(`cluster: ${err.message}: see ${err.log}`));
    for (const line of await lastLines(err.log, logStart.get(err.log) ?? 0, 5)) console.error(`  ${line}`);
    code = 1;
  } finally {
    for (const s of services.reverse()) {
      await s.stop();
      console.log(`${s.name} stopped`);
    }
    for (const remove of handlers) remove();
  }
  return code;
}

/** The last `n` lines of a log past byte `from`. */
async function lastLines(path: string, from: number, n: number): Promise<string[]> {
  const bytes = await Deno.readFile(path).catch(() => new Uint8Array());
  return new TextDecoder().decode(bytes.subarray(from)).trimEnd().split('\n').filter((l) => l !== '' && !l.startsWith('--- ')).slice(-n);
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
