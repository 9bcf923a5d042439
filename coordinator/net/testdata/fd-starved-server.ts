/**
 * Test fixture: a net server for a process started with a tiny descriptor limit (`ulimit -n`), so accept()
 * fails with EMFILE for real. Prints `{"port":N}` when listening; GET /stats answers its counters.
 */
import { serve } from '../serve.ts';

const refused: Record<string, number> = {};
const logs: string[] = [];
const server = serve({
  port: 0,
  acceptBackoffMs: 20,
  headerTimeoutMs: 60_000,
  onRefused: (r) => (refused[r] = (refused[r] ?? 0) + 1),
  log: (level, msg) => logs.push(`${level} ${msg}`),
}, () => new Response(JSON.stringify({ acceptErrors: server.acceptErrors, open: server.openConnections, refused, logs: logs.length })));
console.log(JSON.stringify({ port: server.addr.port }));
Deno.addSignalListener('SIGTERM', () => void server.shutdown(500).then(() => Deno.exit(0)));
