/**
 * The coordinator's read-only HTTP API (JSON): health, metrics, client configuration, balances, ledger
 * totals, market statistics and what contributors can do by kernel kind (`/api/capacity`). Job status and
 * detail are for a job's owner only, over the mesh API.
 */
import { PROTOCOL_VERSION } from '../../src/protocol/version.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Market } from '../market/market.ts';
import type { Metrics } from '../metrics.ts';
import { json, jsonError } from './headers.ts';

/** What the API reads from. */
export interface ApiDeps {
  ledger: Ledger;
  market: Market;
  metrics: Metrics;
  /** Connected signalling peers. */
  peers: () => number;
  iceServers: RTCIceServer[];
  feeRate: number;
  leaseMs: number;
  peerjs: { path: string; key: string };
  /** Bearer token of `/api/audit` (every account's balance); absent: the route does not exist. */
  auditToken?: string;
}

/** `/api/config` response. */
export interface ConfigResponse {
  version: number;
  peerjs: { path: string; key: string };
  iceServers: RTCIceServer[];
  feeRate: number;
  leaseMs: number;
}

/** `/api/stats` response. */
export interface StatsResponse {
  contributors: number;
  active: number;
  jobs: number;
  peers: number;
}

/**
 * `/api/asks` response: what active contributors ask, in micro-credits per work unit, so a client can estimate a
 * job's cost before submitting it (a lease pays the contributor's ask, at most the bid). Aggregates only: no
 * peer id or per-contributor figure. `lowest` and `median` are null when no contributor is active.
 */
export interface AsksResponse {
  active: number;
  lowest: number | null;
  median: number | null;
}

/** Aggregates the asks of active contributors (one pass plus a sort over the registry, which connections bound). */
export function askSummary(asks: Iterable<{ askPrice: number; state: string }>): AsksResponse {
  const prices: number[] = [];
  for (const c of asks) if (c.state === 'active') prices.push(c.askPrice);
  prices.sort((a, b) => a - b);
  const median = prices.length === 0 ? null : prices[(prices.length - 1) >> 1]!;
  return { active: prices.length, lowest: prices[0] ?? null, median };
}

/** Answers `/healthz`, `/metrics` and `/api/*`; returns null for other paths. */
export async function handleApi(req: Request, url: URL, d: ApiDeps): Promise<Response | null> {
  const path = url.pathname;
  if (path === '/healthz') return json({ ok: true });
  if (path === '/metrics') {
    return new Response(d.metrics.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' } });
  }
  if (!path.startsWith('/api/')) return null;
  if (req.method !== 'GET' && req.method !== 'HEAD') return jsonError(405, 'invalid-message', `Cannot ${req.method} ${path}: the API is read-only over HTTP`);
  const [, , route, arg, extra] = path.split('/');
  if (extra !== undefined) return notFound(path);
  switch (route) {
    case 'config':
      if (arg !== undefined) return notFound(path);
      return json({ version: PROTOCOL_VERSION, peerjs: d.peerjs, iceServers: d.iceServers, feeRate: d.feeRate, leaseMs: d.leaseMs } satisfies ConfigResponse);
    case 'stats': {
      if (arg !== undefined) return notFound(path);
      const stats: StatsResponse = { contributors: d.market.registry.size, active: d.market.registry.active, jobs: d.market.runningJobs, peers: d.peers() };
      return json(stats);
    }
    case 'asks':
      if (arg !== undefined) return notFound(path);
      return json(askSummary(d.market.registry.all()));
    case 'capacity':
      // Aggregates by kernel kind for sizing shards (market/capacity.ts): one pass per second at most, no peer ids.
      if (arg !== undefined) return notFound(path);
      return json(d.market.capacity.summary(() => d.market.registry.all()));
    case 'ledger':
      // Totals only: listing accounts would show strangers every job's escrow (and cost a scan per request).
      if (arg !== undefined) return notFound(path);
      d.metrics.inc('ledger_ops', 'totals');
      return json(await d.ledger.totals());
    case 'audit': {
      // The operator's view of every account, behind a bearer token configured with --audit-token.
      if (!d.auditToken) return notFound(path);
      if (req.headers.get('authorization') !== `Bearer ${d.auditToken}`) return jsonError(401, 'unauthorized', 'Cannot show the audit without the operator token');
      if (arg !== undefined) return notFound(path);
      d.metrics.inc('ledger_ops', 'summary');
      return json(await d.ledger.summary());
    }
  }
  return notFound(path);
}

function notFound(path: string): Response {
  return jsonError(404, 'not-found', `Cannot find ${path}: no such API route`);
}
