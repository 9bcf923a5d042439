/**
 * Command-line entry: `deno run --allow-all coordinator/main.ts [--port 8787] [--data ./data] ...`
 * (see config.ts USAGE). Prints one JSON line `{"msg":"listening","url":...,"descriptors":{"soft","hard"}}` when
 * ready (the descriptor limits after raising the soft one to the hard one); SIGINT or SIGTERM
 * closes sockets and the ledger before exiting.
 */
import { parseOptions, USAGE } from './config.ts';
import { startCoordinator } from './server.ts';
import { turnFromOptions } from './turn.ts';

if (import.meta.main) {
  if (Deno.args.includes('--help') || Deno.args.includes('-h')) {
    console.log(USAGE);
    Deno.exit(0);
  }
  let opts;
  try {
    opts = parseOptions(Deno.args, Deno.env.toObject());
    turnFromOptions(opts); // a relay URL without its secret (or the reverse) is a usage error, like a bad flag
  } catch (err) {
    console.error(JSON.stringify({ t: new Date().toISOString(), level: 'error', msg: (err as Error).message }));
    Deno.exit(2);
  }
  const coordinator = await startCoordinator(opts);
  const { soft, hard } = coordinator.descriptors;
  console.log(JSON.stringify({ t: new Date().toISOString(), level: 'info', msg: 'listening', url: coordinator.url, data: opts.data, static: opts.staticDir, descriptors: { soft, hard } }));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ t: new Date().toISOString(), level: 'info', msg: 'shutting down', signal }));
    const force = setTimeout(() => Deno.exit(1), 5000);
    await coordinator.close();
    clearTimeout(force);
    Deno.exit(0);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) Deno.addSignalListener(sig, () => void stop(sig));
}
