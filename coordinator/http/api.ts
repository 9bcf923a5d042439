/**
 * The coordinator's read-only HTTP API (JSON): health, metrics, client configuration, balances, the ledger
 * audit, job status and market statistics. Shapes are listed in INTERFACES.md.
 */
import { PEERJS_ID } from '../../src/protocol/coordinator.ts';
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

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

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
    case 'ledger':
      if (arg !== undefined) return notFound(path);
      d.metrics.inc('ledger_ops', 'summary');
      return json(await d.ledger.summary());
    case 'balance': {
      const peerId = decode(arg);
      if (!peerId || peerId.length > 64 || !PEERJS_ID.test(peerId)) {
        return jsonError(400, 'invalid-message', `Cannot read a balance as the peer id is not valid: current value is ${JSON.stringify(arg ?? '')}`);
      }
      d.metrics.inc('ledger_ops', 'balance');
      return json({ peerId, balance: await d.ledger.balance(`peer:${peerId}`) });
    }
    case 'jobs': {
      const jobId = decode(arg);
      if (!jobId || !JOB_ID.test(jobId)) return jsonError(400, 'invalid-message', `Cannot read a job as the job id is not valid: current value is ${JSON.stringify(arg ?? '')}`);
      const job = d.market.job(jobId);
      if (!job) return jsonError(404, 'not-found', `Cannot find job ${jobId}: it never existed or finished long ago`);
      return json(job.detail());
    }
  }
  return notFound(path);
}

function notFound(path: string): Response {
  return jsonError(404, 'not-found', `Cannot find ${path}: no such API route`);
}

function decode(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
