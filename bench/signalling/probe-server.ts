// Memory probe for signalling: the coordinator's SignallingServer on coordinator/net, nothing else in the
// process. GET /stats answers Deno.memoryUsage() after a full GC (run with --v8-flags=--expose-gc).
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { serve } from '../../coordinator/net/index.ts';
import { SignallingServer } from '../../coordinator/signalling/server.ts';
import { Metrics } from '../../coordinator/metrics.ts';
import { createLogger } from '../../coordinator/log.ts';

const port = Number(Deno.args[0] ?? 0);
const signalling = new SignallingServer(
  { path: '/peerjs/', key: 'peerjs', expireMs: 5000, aliveMs: 60_000, ratePerSec: 200, rateBurst: 400 },
  { metrics: new Metrics(), log: createLogger('warn') },
);
const s = serve({ port, hostname: '127.0.0.1', maxConns: 100_000, maxConnsPerAddr: 100_000 }, (req, info) => {
  const url = new URL(req.url);
  if (url.pathname === '/snap') {
    (globalThis as { gc?: () => void }).gc?.();
    return new Response(writeHeapSnapshot(url.searchParams.get('file') ?? 'signalling.heapsnapshot'));
  }
  if (url.pathname === '/stats') {
    (globalThis as { gc?: () => void }).gc?.();
    return Response.json({ ...Deno.memoryUsage(), peers: signalling.peers, spaces: Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, Math.round(x.space_size / 2 ** 20 * 10) / 10])) });
  }
  return signalling.handle(req, url, info.remoteAddr.hostname);
});
console.log(JSON.stringify({ port: s.addr.port }));
