/**
 * Starts a coordinator: one HTTP port serving the API, the mesh WebSocket, PeerJS signalling and the built
 * PWA. Tests start real instances on port 0 with a ':memory:' ledger; main.ts starts one from flags.
 */
import { DEFAULTS, type CoordinatorOptions, ledgerPath } from './config.ts';
import { createLogger } from './log.ts';
import { Metrics } from './metrics.ts';
import { startMemoryHousekeeping } from './memory.ts';
import { IpCap } from './limits/ip-cap.ts';
import { AccountGate } from './limits/account-gate.ts';
import { clientAddress } from './limits/network.ts';
import { openKvStore, openStore } from './store/open.ts';
import { DEFAULT_OWNERSHIP_TIMING, MarketLink, type OwnershipTiming } from './cluster/index.ts';
import { resumeMarket } from './market/resume.ts';
import type { Ledger } from './ledger/types.ts';
import { Market } from './market/market.ts';
import { ServingBook } from './serving/index.ts';
import { DEFAULT_LIMITS } from './market/admission.ts';
import { STRANGERS, TRUSTED } from './market/credibility.ts';
import { refundOrphanedEscrows } from './market/recovery.ts';
import { MAX_PREAUTH_FRAME_BYTES, MeshSession } from './mesh/session.ts';
import { SessionRegistry } from './mesh/sessions.ts';
import { SignallingServer } from './signalling/server.ts';
import { type ClusterLink, type DirectoryTiming, startCluster } from './signalling/cluster/index.ts';
import { handleApi } from './http/api.ts';
import { jsonError, preflight, withSecurityHeaders } from './http/headers.ts';
import { createStaticHandler } from './http/static.ts';
import { turnFromOptions } from './turn.ts';
import { LinkTargets } from './mesh/link-targets.ts';
import { MICRO } from '../src/protocol/coordinator.ts';
import { fairTransportFits, type FdLimit, raiseFdLimit, REFUSAL_REASONS, serve, type ServeHandler, serveNode, type ServeInfo, type ServeOptions, upgradeWebSocket } from './net/index.ts';

/** PeerJS mount path and key, as /api/config announces them. */
export const PEERJS = { path: '/peerjs', key: 'peerjs' } as const;

/** A running coordinator. */
export interface RunningCoordinator {
  /** Base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  port: number;
  market: Market;
  /** Continuous serving (coordinator/serving). */
  serving: ServingBook;
  ledger: Ledger;
  metrics: Metrics;
  signalling: SignallingServer;
  /** The signalling link to the other instances when `bus` is set. */
  cluster?: ClusterLink;
  /** The market's link to the other instances when `bus` is set. */
  marketLink?: MarketLink;
  /** The process's descriptor limits after start-up raised the soft one (main.ts logs them). */
  descriptors: FdLimit;
  /** Stops matching (running jobs stay in the store and resume at the next start), closes sockets, the listener and the store. */
  close(): Promise<void>;
  /** Stops as a crash would (tests of a cluster): no goodbye to the other instances, nothing flushed. */
  halt(): Promise<void>;
}

/**
 * Starts a coordinator; options default as in config.ts. `ledger` overrides opening one from `data`;
 * `clusterTiming` the directory's heartbeat and TTL (tests shorten them).
 */
export async function startCoordinator(
  options: Partial<CoordinatorOptions> & {
    ledger?: Ledger;
    random?: () => number;
    clusterTiming?: Partial<DirectoryTiming>;
    ownershipTiming?: Partial<OwnershipTiming>;
    failureBackoffMs?: readonly number[];
  } = {},
): Promise<RunningCoordinator> {
  const o: CoordinatorOptions = { ...DEFAULTS, ...options };
  const turn = turnFromOptions(o); // before anything opens: a relay URL without its secret is a start-up error
  const log = createLogger(o.logLevel);
  const metrics = new Metrics();
  // An injected ledger (tests) gets a throwaway store for the market's state beside it.
  const store = options.ledger ? await openKvStore(':memory:', o.starterCredits * MICRO) : await openStore(o.store, ledgerPath(o.data), o.starterCredits * MICRO);
  const ledger = options.ledger ?? store.ledger;
  const cluster = o.bus
    ? await startCluster({ bus: o.bus, store: o.store, instanceId: o.instanceId, metrics, log, ...(options.clusterTiming ? { timing: options.clusterTiming } : {}) })
    : undefined;
  if (cluster) log.info('cluster link up', { instance: cluster.instance, bus: o.bus.replace(/\/\/[^@/]*@/, '//***@') });
  const instanceId = cluster?.instance ?? o.instanceId;
  // In a cluster another instance may be between holding an escrow and storing its job: look a minute after
  // start, and confirm each candidate after a few seconds.
  let refunding: Promise<void> = Promise.resolve();
  const refund = () =>
    refunding = refundOrphanedEscrows(ledger, store.market, cluster ? 5_000 : 0).then((r) => {
      if (r.jobs > 0) log.info('refunded escrows of jobs no store holds', r);
    }, (err) => log.error('refunding orphaned escrows failed', { err }));
  const refundTimer = cluster ? setTimeout(refund, 60_000) : undefined;
  if (!cluster) await refund();
  const sessions = new SessionRegistry<MeshSession>();
  let marketLink: MarketLink | undefined;
  const market = new Market({
    ledger,
    notify: (peerId, frame) => sessions.send(peerId, frame) || (marketLink?.route(peerId, frame) ?? false),
    feeRate: o.feeRate,
    leaseMs: o.leaseMs,
    claimWindowMs: o.claimWindowMs,
    replicaWaitMs: o.replicaWaitMs,
    limits: { ...DEFAULT_LIMITS, minEscrow: o.minEscrow },
    trust: o.trustNewcomers ? TRUSTED : STRANGERS,
    store: store.market,
    instanceId,
    online: (peerId) => sessions.get(peerId) !== undefined,
    clientGraceMs: o.clientGraceMs,
    log,
    metrics,
    ...(options.random ? { random: options.random } : {}),
    ...(options.failureBackoffMs ? { failureBackoffMs: options.failureBackoffMs } : {}),
    cluster: {
      runEnded: (job, run) => marketLink?.runEnded(job, run),
      jobMoved: (job, runs) => marketLink?.jobMoved(job, runs),
    },
  });
  await resumeMarket(market, store.market, { log, owner: instanceId });
  // Continuous serving shares the market's contributors and credibility; its services live on this instance.
  const serving = new ServingBook({
    ledger,
    registry: market.registry,
    credibility: market.credibility,
    notify: (peerId, frame) => sessions.send(peerId, frame),
    feeRate: o.feeRate,
    leaseMs: o.leaseMs,
    online: (peerId) => sessions.get(peerId) !== undefined,
    clientGraceMs: o.clientGraceMs,
    log,
    metrics,
    ...(options.random ? { random: options.random } : {}),
  });
  // Behind a trusted proxy the listener cannot tell clients apart: WebSockets are capped by forwarded address.
  const trusted = new Set(o.trustProxy);
  const forwardedCap = new IpCap(o.maxConnsPerIp);
  const admitForwarded = (req: Request, addr: string): (() => void) | null => {
    const client = clientAddress(addr, req.headers, trusted);
    return client === addr ? () => {} : forwardedCap.acquire(client);
  };
  const signalling = new SignallingServer(
    { path: `${PEERJS.path}/`, key: PEERJS.key, expireMs: o.expireMs, aliveMs: o.aliveMs, ratePerSec: o.ratePerSec, rateBurst: o.rateBurst },
    { metrics, log, admit: admitForwarded, ...(cluster ? { cluster } : {}) },
  );
  metrics.gauge('peers', 'Peers connected to signalling.', () => signalling.peers);
  metrics.gauge('contributors', 'Registered contributors.', () => market.registry.size);
  metrics.gauge('contributors_active', 'Contributors taking work.', () => market.registry.active);
  metrics.gauge('mesh_sessions', 'Authenticated mesh API sessions.', () => sessions.size);
  metrics.gauge('jobs_running', 'Jobs not yet finished.', () => market.runningJobs);
  metrics.gauge('services_open', 'Serving endpoints open.', () => serving.open);
  metrics.gauge('rss_bytes', 'Resident memory of the process.', () => Deno.memoryUsage().rss);
  metrics.gauge('heap_used_bytes', 'JavaScript heap in use.', () => Deno.memoryUsage().heapUsed);
  metrics.gauge('external_bytes', 'Memory of buffers outside the JavaScript heap.', () => Deno.memoryUsage().external);
  const serveStatic = createStaticHandler(o.staticDir);
  const apiDeps = {
    ledger, market, metrics, peers: () => signalling.peers, iceServers: o.iceServers, feeRate: o.feeRate, leaseMs: o.leaseMs, peerjs: { ...PEERJS },
    ...(o.auditToken ? { auditToken: o.auditToken } : {}),
  };
  const sessionDeps = {
    market,
    serving,
    ledger,
    linkTargets: new LinkTargets(),
    sessions,
    metrics,
    log,
    feeRate: o.feeRate,
    leaseMs: o.leaseMs,
    ratePerSec: o.ratePerSec,
    rateBurst: o.rateBurst,
    grantsPerNetworkDay: o.grantsPerNetworkDay,
    accounts: new AccountGate(),
    ...(turn ? { turn } : {}),
    ...(cluster ? { arrived: (peerId: string) => marketLink?.ownership.clientArrived(peerId) ?? Promise.resolve() } : {}),
    ...(cluster ? { cluster: { claim: (...a: Parameters<MarketLink['claim']>) => marketLink!.claim(...a), fail: (...a: Parameters<MarketLink['fail']>) => marketLink!.fail(...a) } } : {}),
  };

  const mesh = (req: Request, info: ServeInfo): Response => {
    if (req.headers.get('upgrade')?.toLowerCase() !== 'websocket') return jsonError(426, 'invalid-message', 'Cannot serve /mesh without a WebSocket upgrade');
    const addr = info.remoteAddr.hostname;
    const client = clientAddress(addr, req.headers, trusted);
    const release = admitForwarded(req, addr);
    if (!release) {
      metrics.inc('connections_refused', 'address-cap');
      return jsonError(429, 'rate-limited', `Cannot accept a connection as ${client} has ${forwardedCap.max} open already`);
    }
    let upgraded: { socket: WebSocket; response: Response };
    try {
      // Ping after 60 s of silence and drop a socket that does not answer: a crashed browser frees its leases.
      // Only the small `auth` frame may come before authentication; MeshSession raises the limit after `welcome`.
      upgraded = upgradeWebSocket(req, { idleTimeoutMs: 60_000, maxMessageBytes: MAX_PREAUTH_FRAME_BYTES });
    } catch (err) {
      release();
      return jsonError(400, 'invalid-message', `Cannot upgrade to a WebSocket: ${(err as Error).message}`);
    }
    const { socket, response } = upgraded;
    metrics.inc('connections', 'mesh');
    new MeshSession(socket, sessionDeps, client);
    socket.addEventListener('close', release);
    return response;
  };

  const handler = async (req: Request, info: ServeInfo): Promise<Response> => {
    const started = performance.now();
    const res = await route(req, info);
    log.debug('http', { method: req.method, path: new URL(req.url).pathname, status: res.status, ms: Math.round(performance.now() - started) });
    return res;
  };

  const route = async (req: Request, info: ServeInfo): Promise<Response> => {
    const url = new URL(req.url);
    const addr = info.remoteAddr.hostname;
    try {
      if (req.method === 'OPTIONS') return withSecurityHeaders(preflight());
      if (url.pathname === '/mesh') return withSecurityHeaders(mesh(req, info));
      if (signalling.owns(url.pathname)) return withSecurityHeaders(await signalling.handle(req, url, addr));
      const api = await handleApi(req, url, apiDeps);
      if (api) return withSecurityHeaders(api);
      return withSecurityHeaders(await serveStatic(req, url));
    } catch (err) {
      metrics.inc('errors', 'http');
      log.error('request failed', { method: req.method, path: url.pathname, err });
      return withSecurityHeaders(jsonError(500, 'internal', `Cannot ${req.method} ${url.pathname}: ${(err as Error).message}`));
    }
  };

  // The cluster link starts before the listener: a client that authenticates must find its jobs' moves working.
  let publicUrl = '';
  if (cluster) {
    marketLink = new MarketLink({
      me: instanceId,
      url: () => publicUrl,
      bus: cluster.bus,
      store: store.market,
      market,
      log,
      metrics,
      timing: { ...DEFAULT_OWNERSHIP_TIMING, clientGraceMs: o.clientGraceMs, ...options.ownershipTiming },
      sendLocal: (peerId, frame) => sessions.send(peerId, frame),
      isLocal: (peerId) => sessions.get(peerId) !== undefined,
    });
    await marketLink.start();
  }
  const descriptors = raiseFdLimitOnce(log);
  const stopHousekeeping = startMemoryHousekeeping(log);
  for (const reason of REFUSAL_REASONS) metrics.inc('connections_refused', reason, 0);
  // node:net serves busy connections fairly (Deno.Conn reads left some waiting seconds: net/node-conn.ts) but
  // its accept loop does not survive running out of descriptors; Deno.listen's does, so it stays where they can.
  const fair = o.transport === 'node' && fairTransportFits(descriptors.soft, o.maxConns);
  if (o.transport === 'node' && !fair) log.warn('serving on Deno.listen: descriptor limit too low for node:net', { soft: descriptors.soft, maxConns: o.maxConns });
  const server = await (fair ? serveNode : (so: ServeOptions, h: ServeHandler) => Promise.resolve(serve(so, h)))({
    hostname: o.host,
    port: o.port,
    maxConns: o.maxConns,
    maxConnsPerAddr: o.maxConnsPerIp,
    uncappedAddrs: trusted,
    headerTimeoutMs: o.headerTimeoutMs,
    idleTimeoutMs: o.idleTimeoutMs,
    onRefused: (reason) => metrics.inc('connections_refused', reason),
    onAcceptError: () => metrics.inc('accept_errors'),
    log: (level, msg, fields) => log[level](msg, fields),
  }, handler);
  metrics.gauge('open_connections', 'TCP connections open (HTTP and WebSocket).', () => server.openConnections);
  const addr = server.addr;
  const host = addr.hostname.includes(':') ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  publicUrl = url;
  let closing: Promise<void> | undefined;
  return {
    url,
    port: addr.port,
    market,
    serving,
    ledger,
    metrics,
    signalling,
    ...(cluster ? { cluster } : {}),
    ...(marketLink ? { marketLink } : {}),
    descriptors,
    close: () =>
      closing ??= (async () => {
        clearTimeout(refundTimer);
        await serving.shutdown();
        await market.shutdown();
        await marketLink?.close();
        stopHousekeeping();
        signalling.close();
        await cluster?.close();
        sessions.closeAll(1001, 'server shutting down');
        // Under main.ts's 5 s forced exit: sockets that ignore our close frame are cut after closeTimeoutMs (3 s).
        await server.shutdown(3000);
        await refunding;
        await store.close();
      })(),
    halt: () =>
      closing ??= (async () => {
        clearTimeout(refundTimer);
        await market.halt();
        await marketLink?.halt();
        stopHousekeeping();
        signalling.close();
        await cluster?.halt();
        sessions.closeAll(1006, 'halted');
        await server.shutdown(0);
        await store.close();
      })(),
  };
}

let fdLimit: FdLimit | undefined;
/** Raises the descriptor limit once per process (each connection holds one); warns when it cannot. */
function raiseFdLimitOnce(log: ReturnType<typeof createLogger>): FdLimit {
  if (fdLimit) return fdLimit;
  fdLimit = raiseFdLimit();
  if (fdLimit.error) log.warn('descriptor limit unchanged', { ...fdLimit });
  return fdLimit;
}
