/**
 * Coordinator settings: defaults, command-line flags (`--port 8787` or `--port=8787`) and environment
 * overrides (PORT, MESHWORK_DATA). Parsing is separate from start-up so it can be tested without a server.
 */
import type { LogLevel } from './log.ts';

/** Everything `startCoordinator` needs to know. */
export interface CoordinatorOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  host: string;
  /** Folder of the KV ledger file (`<data>/ledger.kv`), or ':memory:' for a throwaway ledger. */
  data: string;
  /** Folder of the built PWA served as static files. */
  staticDir: string;
  /** How long a contributor holds a shard before it is queued again (ms). */
  leaseMs: number;
  /** Credits (not micro-credits) minted into each new account. */
  starterCredits: number;
  /** Protocol fee, a fraction of each contributor payment, charged to the client. */
  feeRate: number;
  /** ICE servers handed to peers by /api/config (e.g. a coturn relay). */
  iceServers: RTCIceServer[];
  /** Concurrent TCP connections (HTTP and WebSocket) allowed in all. */
  maxConns: number;
  /** Socket layer: 'deno' (Deno.listen, survives running out of descriptors) or 'node' (node:net, serves busy
   * connections fairly; used only where the descriptor limit leaves room, see net/node-conn.ts). */
  transport: 'deno' | 'node';
  /** Concurrent TCP connections (HTTP and WebSocket) allowed from one address. */
  maxConnsPerIp: number;
  /** Time allowed for a request head to arrive (ms); slowloris peers are cut after it. */
  headerTimeoutMs: number;
  /** Keep-alive: time an HTTP connection may sit idle between requests (ms). */
  idleTimeoutMs: number;
  logLevel: LogLevel;
  /** PeerJS: how long a message for an absent peer waits before the sender gets EXPIRE (ms). */
  expireMs: number;
  /** PeerJS: a client silent this long is dropped (ms). */
  aliveMs: number;
  /** Messages per second a peer may send on either socket, and the burst it may save up. */
  ratePerSec: number;
  rateBurst: number;
  /** After a claim: how long the run counts against capacity, and when an unverified, unchallenged run is paid (ms). */
  claimWindowMs: number;
  /** How long a verification run may find no eligible contributor at all before verification is waived (ms). */
  replicaWaitMs: number;
  /** Starter grants per network (/24, /48) and UTC day; 0 grants none. Loopback is not limited. */
  grantsPerNetworkDay: number;
  /** Smallest escrow a job may hold, micro-credits. */
  minEscrow: number;
  /** Addresses of reverse proxies whose X-Forwarded-For names the client. */
  trustProxy: string[];
  /** Bearer token of `/api/audit` (every account); empty: no audit route. */
  auditToken: string;
  /** How long a client whose session ended may take to come back before its running jobs are cancelled (ms). */
  clientGraceMs: number;
  /** A private mesh of the operator's own machines: no newcomer replication, no capacity ramp. */
  trustNewcomers: boolean;
  /** Where jobs, runs, the registry and the ledger live: 'kv' (the embedded Deno KV file under `data`) or a
   * `postgres://` URL (a cluster of coordinators sharing one database). */
  store: string;
  /** How instances of a cluster reach each other: '' (one instance), a `nats://host:port` URL, or 'postgres'
   * (LISTEN/NOTIFY on the store's database). */
  bus: string;
  /** This instance's name in a cluster (default: random at start). */
  instanceId: string;
  /** TURN server URLs handed to authenticated peers with short-lived credentials (`turn:host:port?transport=udp`). */
  turnUrls: string[];
  /** The TURN server's shared secret (coturn `static-auth-secret`); never sent to peers. */
  turnSecret: string;
}

/** Defaults, as documented in INTERFACES.md. */
export const DEFAULTS: CoordinatorOptions = {
  port: 8787,
  host: '127.0.0.1',
  data: './data',
  staticDir: './dist',
  leaseMs: 120_000,
  starterCredits: 1000,
  feeRate: 0.05,
  iceServers: [],
  maxConns: 10_000,
  transport: 'deno',
  maxConnsPerIp: 256,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  logLevel: 'info',
  expireMs: 5000,
  aliveMs: 60_000,
  ratePerSec: 200,
  rateBurst: 400,
  claimWindowMs: 60_000,
  replicaWaitMs: 2_000,
  grantsPerNetworkDay: 3,
  minEscrow: 20,
  trustProxy: [],
  auditToken: '',
  clientGraceMs: 30_000,
  trustNewcomers: false,
  store: 'kv',
  bus: '',
  instanceId: '',
  turnUrls: [],
  turnSecret: '',
};

/** Usage text for --help. */
export const USAGE = `Usage: deno run --allow-all coordinator/main.ts [flags]
  --port N              TCP port (default 8787; env PORT)
  --host H              listen address (default 127.0.0.1)
  --data DIR            ledger folder, file DIR/ledger.kv; ':memory:' for none (default ./data; env MESHWORK_DATA)
  --static DIR          built PWA to serve (default ./dist)
  --lease-ms N          shard lease length in ms (default 120000)
  --starter-credits N   credits minted per new account (default 1000)
  --fee-rate F          protocol fee as a fraction of each payment (default 0.05)
  --ice JSON            RTCIceServer[] handed to peers (default [])
  --max-conns N         concurrent TCP connections in all, HTTP and WebSocket (default 10000)
  --max-conns-per-ip N  concurrent TCP connections per address, HTTP and WebSocket (default 256)
  --transport T         deno|node: node:net serves busy connections more fairly (lower p99 under load) but needs
                        descriptor headroom; falls back to deno without it (default deno)
  --header-timeout-ms N time for a request head to arrive (default 10000)
  --idle-timeout-ms N   keep-alive idle time between HTTP requests (default 30000)
  --log-level L         debug|info|warn|error|silent (default info)
  --expire-ms N         PeerJS queued-message expiry (default 5000)
  --alive-ms N          PeerJS silent-client timeout (default 60000)
  --rate N / --burst N  messages per second per peer and burst (default 200 / 400)
  --claim-window-ms N   after a claim: capacity hold and auto-payment of unchallenged unverified runs (default 60000)
  --replica-wait-ms N   waive verification when no other eligible contributor exists this long (default 2000)
  --grants-per-network-day N
                        starter grants per /24 or /48 network and UTC day, 0 for none (default 3)
  --min-escrow N        smallest escrow a job may hold, micro-credits (default 20; a bid of at least 1 also holds 3 per shard)
  --trust-proxy A,B     reverse proxy addresses whose X-Forwarded-For names the client (default none)
  --client-grace-ms N   a client that disconnects keeps its running jobs this long (default 30000)
  --trust-newcomers on  a private mesh of your own machines: contributors are trusted from the start (no
                        adaptive replication of newcomers, no capacity ramp; clients' verifyFraction still
                        replicates). Never on a public mesh. (default off)
  --store S             'kv' (embedded Deno KV under --data, default) or a postgres://user@host:port/db URL
                        (env MESHWORK_STORE): several coordinators on one database form a cluster
  --bus B               how cluster instances talk: nats://host:port (recommended; nats-server -js, the peer
                        directory is a JetStream KV bucket) or 'postgres' (LISTEN/NOTIFY and tables in the
                        --store database); none for one instance (default none; env MESHWORK_BUS)
  --instance-id NAME    this instance's name in a cluster (default random)
  --turn-url U[,U]      TURN servers peers may relay through (credentials minted per peer, about an hour)
  --turn-secret S       the TURN server's shared secret (coturn static-auth-secret; env MESHWORK_TURN_SECRET)
  --audit-token T       serve every account's balance at /api/audit to 'Authorization: Bearer T'
                        (default none; env MESHWORK_AUDIT_TOKEN)`;

type Setter = (o: CoordinatorOptions, v: string) => void;

const FLAGS: Record<string, Setter> = {
  port: (o, v) => (o.port = int('port', v, 0, 65535)),
  host: (o, v) => (o.host = nonEmpty('host', v)),
  data: (o, v) => (o.data = nonEmpty('data', v)),
  static: (o, v) => (o.staticDir = nonEmpty('static', v)),
  'lease-ms': (o, v) => (o.leaseMs = int('lease-ms', v, 100, 86_400_000)),
  'starter-credits': (o, v) => (o.starterCredits = int('starter-credits', v, 0, 1e9)),
  'fee-rate': (o, v) => (o.feeRate = fraction('fee-rate', v)),
  ice: (o, v) => (o.iceServers = iceServers(v)),
  'max-conns': (o, v) => (o.maxConns = int('max-conns', v, 1, 1e7)),
  transport: (o, v) => {
    if (v !== 'deno' && v !== 'node') throw new TypeError(`Cannot use --transport as it must be deno or node: current value is ${v}`);
    o.transport = v;
  },
  'max-conns-per-ip': (o, v) => (o.maxConnsPerIp = int('max-conns-per-ip', v, 1, 1e6)),
  'header-timeout-ms': (o, v) => (o.headerTimeoutMs = int('header-timeout-ms', v, 10, 3_600_000)),
  'idle-timeout-ms': (o, v) => (o.idleTimeoutMs = int('idle-timeout-ms', v, 10, 86_400_000)),
  'log-level': (o, v) => (o.logLevel = logLevel(v)),
  'expire-ms': (o, v) => (o.expireMs = int('expire-ms', v, 10, 3_600_000)),
  'alive-ms': (o, v) => (o.aliveMs = int('alive-ms', v, 100, 86_400_000)),
  rate: (o, v) => (o.ratePerSec = int('rate', v, 1, 1e6)),
  burst: (o, v) => (o.rateBurst = int('burst', v, 1, 1e6)),
  'claim-window-ms': (o, v) => (o.claimWindowMs = int('claim-window-ms', v, 100, 86_400_000)),
  'replica-wait-ms': (o, v) => (o.replicaWaitMs = int('replica-wait-ms', v, 0, 86_400_000)),
  'grants-per-network-day': (o, v) => (o.grantsPerNetworkDay = int('grants-per-network-day', v, 0, 1e9)),
  'min-escrow': (o, v) => (o.minEscrow = int('min-escrow', v, 0, 1e15)),
  'trust-proxy': (o, v) => (o.trustProxy = addresses('trust-proxy', v)),
  'audit-token': (o, v) => (o.auditToken = token('audit-token', v)),
  'client-grace-ms': (o, v) => (o.clientGraceMs = int('client-grace-ms', v, 0, 86_400_000)),
  'trust-newcomers': (o, v) => (o.trustNewcomers = onOff('trust-newcomers', v)),
  store: (o, v) => (o.store = storeUrl(v)),
  bus: (o, v) => (o.bus = busUrl(v)),
  'instance-id': (o, v) => (o.instanceId = instanceName(v)),
  'turn-url': (o, v) => (o.turnUrls = turnUrls(v)),
  'turn-secret': (o, v) => (o.turnSecret = token('turn-secret', v)),
};

/** Options from flags over environment over defaults; throws TypeError/RangeError naming the bad flag. */
export function parseOptions(args: readonly string[], env: Record<string, string | undefined> = {}): CoordinatorOptions {
  const o: CoordinatorOptions = { ...DEFAULTS, iceServers: [], trustProxy: [], turnUrls: [] };
  if (env.PORT !== undefined && env.PORT !== '') FLAGS.port!(o, env.PORT);
  if (env.MESHWORK_DATA !== undefined && env.MESHWORK_DATA !== '') FLAGS.data!(o, env.MESHWORK_DATA);
  if (env.MESHWORK_AUDIT_TOKEN !== undefined && env.MESHWORK_AUDIT_TOKEN !== '') FLAGS['audit-token']!(o, env.MESHWORK_AUDIT_TOKEN);
  if (env.MESHWORK_STORE !== undefined && env.MESHWORK_STORE !== '') FLAGS.store!(o, env.MESHWORK_STORE);
  if (env.MESHWORK_BUS !== undefined && env.MESHWORK_BUS !== '') FLAGS.bus!(o, env.MESHWORK_BUS);
  if (env.MESHWORK_TURN_SECRET !== undefined && env.MESHWORK_TURN_SECRET !== '') FLAGS['turn-secret']!(o, env.MESHWORK_TURN_SECRET);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new TypeError(`Cannot parse arguments as '${arg}' is not a flag: expected --name value`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const set = FLAGS[name];
    if (!set) throw new TypeError(`Cannot parse arguments as '--${name}' is not a known flag: see --help`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new TypeError(`Cannot parse '--${name}' as it has no value`);
    set(o, value);
  }
  if (o.bus && !o.store.startsWith('postgres')) {
    throw new TypeError(`Cannot use '--bus ${o.bus.startsWith('nats') ? 'nats://...' : o.bus}' with '--store ${o.store}': the instances of a cluster share their jobs and ledger in PostgreSQL, so '--bus' needs '--store postgres://...'`);
  }
  return o;
}

/** The ledger file for a data folder (':memory:' passes through). */
export function ledgerPath(data: string): string {
  return data === ':memory:' ? ':memory:' : `${data.replace(/\/+$/, '')}/ledger.kv`;
}

function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new RangeError(`Cannot use '--${name}' as it must be an integer in [${min}, ${max}]: current value is ${v}`);
  }
  return n;
}

function fraction(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
    throw new RangeError(`Cannot use '--${name}' as it must be a number in [0, 1): current value is ${v}`);
  }
  return n;
}

function storeUrl(v: string): string {
  if (v === 'kv' || /^postgres(ql)?:\/\/[^\s]+$/.test(v)) return v;
  throw new TypeError(`Cannot use '--store' as it must be 'kv' or a postgres:// URL: current value is ${v.slice(0, 80)}`);
}

function busUrl(v: string): string {
  if (v === 'postgres' || /^nats:\/\/[^\s]+$/.test(v)) return v;
  throw new TypeError(`Cannot use '--bus' as it must be a nats:// URL or 'postgres': current value is ${v.slice(0, 80)}`);
}

function instanceName(v: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new TypeError(`Cannot use '--instance-id' as it must be 1..64 letters, digits, '_' or '-': current value is ${v.slice(0, 80)}`);
  return v;
}

function turnUrls(v: string): string[] {
  const list = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
  for (const u of list) {
    if (!/^turns?:[^\s]+$/.test(u)) throw new TypeError(`Cannot use '--turn-url' as each entry must be a turn: or turns: URL: current value is ${u.slice(0, 80)}`);
  }
  return list;
}

function onOff(name: string, v: string): boolean {
  if (v !== 'on' && v !== 'off') throw new TypeError(`Cannot use '--${name}' as it must be on or off: current value is ${v.slice(0, 20)}`);
  return v === 'on';
}

function token(name: string, v: string): string {
  if (!/^[A-Za-z0-9._~+/=-]{16,256}$/.test(v)) {
    throw new TypeError(`Cannot use '--${name}' as it must be 16..256 URL-safe characters: current length is ${v.length}`);
  }
  return v;
}

function addresses(name: string, v: string): string[] {
  const list = v.split(',').map((a) => a.trim()).filter((a) => a !== '');
  for (const a of list) {
    if (!/^[0-9A-Fa-f:.]{2,45}$/.test(a)) throw new TypeError(`Cannot use '--${name}' as each entry must be an IP address: current value is ${a.slice(0, 60)}`);
  }
  return list;
}

function nonEmpty(name: string, v: string): string {
  if (v === '') throw new TypeError(`Cannot use '--${name}' as it is empty`);
  return v;
}

function logLevel(v: string): LogLevel {
  const levels: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
  if (!levels.includes(v as LogLevel)) throw new TypeError(`Cannot use '--log-level' as it must be one of ${levels.join(', ')}: current value is ${v}`);
  return v as LogLevel;
}

function iceServers(v: string): RTCIceServer[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new TypeError(`Cannot use '--ice' as it must be a JSON array of RTCIceServer: current value is ${v.slice(0, 80)}`);
  }
  const ok = Array.isArray(parsed) && parsed.every((s) =>
    typeof s === 'object' && s !== null &&
    (typeof s.urls === 'string' || (Array.isArray(s.urls) && s.urls.every((u: unknown) => typeof u === 'string'))) &&
    (s.username === undefined || typeof s.username === 'string') &&
    (s.credential === undefined || typeof s.credential === 'string')
  );
  if (!ok) throw new TypeError(`Cannot use '--ice' as each entry needs 'urls' (string or string[]): current value is ${v.slice(0, 80)}`);
  return parsed as RTCIceServer[];
}
