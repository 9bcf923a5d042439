/** The coordinator's public configuration and the URLs derived from its base URL. */
import { MeshError } from '../protocol/errors.ts';

/** What `GET /api/config` returns. */
export interface MeshConfig {
  version: string;
  peerjs: { path: string; key: string };
  iceServers: RTCIceServer[];
  feeRate: number;
  leaseMs: number;
}

/** Resolves a path against the coordinator base URL, keeping any path prefix the base has. */
export function coordinatorUrl(base: string | URL, path: string): URL {
  const root = new URL(base);
  if (!root.pathname.endsWith('/')) root.pathname += '/';
  return new URL(path.replace(/^\/+/, ''), root);
}

/** The mesh API socket URL: `${base}/mesh` with http(s) turned into ws(s). */
export function meshSocketUrl(base: string | URL): string {
  const url = coordinatorUrl(base, 'mesh');
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else throw new TypeError(`Cannot reach a coordinator as its URL must be http(s): current value is ${String(base)}`);
  return url.href;
}

/** Fetches and sanity-checks `/api/config`. */
export async function fetchConfig(base: string | URL, signal?: AbortSignal): Promise<MeshConfig> {
  const url = coordinatorUrl(base, 'api/config');
  let res: Response;
  try {
    res = await fetch(url, signal ? { signal } : {});
  } catch (err) {
    throw new MeshError('transfer-failed', `Cannot fetch ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new MeshError('transfer-failed', `Cannot fetch ${url.href}: current status is ${res.status}`);
  const config = (await res.json()) as Partial<MeshConfig>;
  if (typeof config.peerjs?.path !== 'string' || typeof config.peerjs.key !== 'string' || !Array.isArray(config.iceServers)) {
    throw new MeshError('invalid-message', `Cannot use the coordinator config as it must have peerjs.path, peerjs.key and iceServers: current value is ${JSON.stringify(config).slice(0, 200)}`);
  }
  return {
    version: String(config.version ?? ''),
    peerjs: { path: config.peerjs.path, key: config.peerjs.key },
    iceServers: config.iceServers,
    feeRate: Number(config.feeRate ?? 0),
    leaseMs: Number(config.leaseMs ?? 0),
  };
}

/** Asks the coordinator for a one-time signalling nonce for a keyed `peerId` (see `signallingToken`). */
export async function fetchSignallingNonce(base: string | URL, config: MeshConfig, peerId: string): Promise<string> {
  const url = coordinatorUrl(base, `${config.peerjs.path.replace(/\/?$/, '/')}${config.peerjs.key}/challenge`);
  url.searchParams.set('id', peerId);
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store' });
  } catch (err) {
    throw new MeshError('transfer-failed', `Cannot fetch a signalling challenge from ${url.href}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) throw new MeshError('transfer-failed', `Cannot fetch a signalling challenge from ${url.href}: current status is ${res.status}`);
  const { nonce } = (await res.json()) as { nonce?: unknown };
  if (typeof nonce !== 'string' || !/^[A-Za-z0-9_.-]{1,200}$/.test(nonce)) {
    throw new MeshError('invalid-message', `Cannot use the signalling challenge as its nonce is not valid: current value is ${String(nonce).slice(0, 60)}`);
  }
  return nonce;
}

/**
 * The RTCPeerConnection settings of a session: the relay the coordinator minted for this peer (its latest
 * `welcome`) plus the config's static list. ICE tries host and server-reflexive candidates before relayed ones,
 * so peers connect directly where they can and through the relay where they must; `relayOnly` offers relayed
 * candidates only, so the other peer never learns this one's addresses.
 */
export function rtcConfiguration(config: MeshConfig, relay: readonly RTCIceServer[] | undefined, relayOnly: boolean): RTCConfiguration {
  return { iceServers: [...(relay ?? []), ...config.iceServers], iceTransportPolicy: relayOnly ? 'relay' : 'all' };
}

/** Whether any of these servers is a TURN relay (a `turn:` or `turns:` URL). */
export function hasRelay(servers: readonly RTCIceServer[]): boolean {
  return servers.some((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]).some((u) => /^turns?:/.test(u)));
}

/** The peerjs options for a coordinator: host, port, TLS and path from its URL, key from its config, ICE as given. */
export function peerOptions(base: string | URL, config: MeshConfig, token: string, rtc: RTCConfiguration = { iceServers: config.iceServers }) {
  const url = coordinatorUrl(base, config.peerjs.path);
  const secure = url.protocol === 'https:';
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    secure,
    path: url.pathname,
    key: config.peerjs.key,
    token,
    config: rtc,
    debug: 0 as const,
  };
}
