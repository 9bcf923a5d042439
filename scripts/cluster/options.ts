/**
 * Settings of `npm run cluster`: flags over environment over `--base-port` over defaults. Every port can be moved
 * so a test (or a second cluster) can run beside the default one.
 */

/** Where each service listens and keeps its files. */
export interface ClusterOptions {
  /** Absolute folder holding every service's state and logs (default ./data/cluster). */
  dataDir: string;
  pgPort: number;
  natsPort: number;
  /** coturn's STUN/TURN port, UDP and TCP. */
  turnPort: number;
  /** The first coordinator's HTTP port; the second listens on the next one. */
  httpPort: number;
  /** coturn's relay port range, inclusive: one UDP port per allocation. */
  relayPorts: [number, number];
  /** Extra flags given to both coordinators (everything after `--`); later flags win over the script's. */
  coordinatorArgs: string[];
}

/** Ports when nothing moves them (PostgreSQL on 54329 so it never meets a system server on 5432). */
export const DEFAULT_PORTS = { pg: 54329, nats: 4222, turn: 3478, http: 8787, relay: [49152, 49183] } as const;

/** Usage text for --help. */
export const USAGE = `Usage: npm run cluster -- [flags] [-- coordinator flags]
Starts, on 127.0.0.1: PostgreSQL, nats-server (JetStream), coturn and two coordinators (c1, c2) sharing them.
  --data-dir DIR      state and logs of every service (default ./data/cluster; env MESHWORK_CLUSTER_DATA)
  --base-port N       pg N, nats N+1, turn N+2, coordinators N+3 and N+4 (env MESHWORK_CLUSTER_BASE_PORT)
  --pg-port N         PostgreSQL (default ${DEFAULT_PORTS.pg}; env MESHWORK_CLUSTER_PG_PORT)
  --nats-port N       NATS clients (default ${DEFAULT_PORTS.nats}; env MESHWORK_CLUSTER_NATS_PORT)
  --turn-port N       coturn STUN/TURN, UDP and TCP (default ${DEFAULT_PORTS.turn}; env MESHWORK_CLUSTER_TURN_PORT)
  --http-port N       coordinator c1; c2 takes N+1 (default ${DEFAULT_PORTS.http}; env MESHWORK_CLUSTER_HTTP_PORT)
  --relay-ports A-B   coturn relay ports (default ${DEFAULT_PORTS.relay[0]}-${DEFAULT_PORTS.relay[1]}; env MESHWORK_CLUSTER_RELAY_PORTS)
  -- FLAGS...         passed to both coordinators after the script's own (e.g. -- --log-level debug)
Binaries: PG_BIN (folder of initdb and pg_ctl), NATS_SERVER, TURNSERVER override where they are looked for.`;

const ENV = {
  'data-dir': 'MESHWORK_CLUSTER_DATA',
  'base-port': 'MESHWORK_CLUSTER_BASE_PORT',
  'pg-port': 'MESHWORK_CLUSTER_PG_PORT',
  'nats-port': 'MESHWORK_CLUSTER_NATS_PORT',
  'turn-port': 'MESHWORK_CLUSTER_TURN_PORT',
  'http-port': 'MESHWORK_CLUSTER_HTTP_PORT',
  'relay-ports': 'MESHWORK_CLUSTER_RELAY_PORTS',
} as const;

type Flag = keyof typeof ENV;

/** Options from `args` and `env`, with `dataDir` resolved against `cwd`; throws TypeError/RangeError naming the bad flag. */
export function parseClusterOptions(args: readonly string[], env: Record<string, string | undefined>, cwd: string): ClusterOptions {
  const values = new Map<Flag, string>();
  for (const [flag, name] of Object.entries(ENV) as [Flag, string][]) {
    const v = env[name];
    if (v !== undefined && v !== '') values.set(flag, v);
  }
  const sep = args.indexOf('--');
  const own = sep >= 0 ? args.slice(0, sep) : args;
  for (let i = 0; i < own.length; i++) {
    const arg = own[i]!;
    if (!arg.startsWith('--')) throw new TypeError(`Cannot parse arguments as '${arg}' is not a flag: expected --name value`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!(name in ENV)) throw new TypeError(`Cannot parse arguments as '--${name}' is not a known flag: see --help`);
    const value = eq > 0 ? arg.slice(eq + 1) : own[++i];
    if (value === undefined) throw new TypeError(`Cannot parse '--${name}' as it has no value`);
    values.set(name as Flag, value);
  }
  const base = values.has('base-port') ? port('base-port', values.get('base-port')!, 65_531) : undefined;
  const pick = (flag: Flag, offset: number, fallback: number, max = 65_535) => {
    const v = values.get(flag);
    if (v !== undefined) return port(flag, v, max);
    return base === undefined ? fallback : base + offset;
  };
  const o: ClusterOptions = {
    dataDir: absolute(values.get('data-dir') ?? 'data/cluster', cwd),
    pgPort: pick('pg-port', 0, DEFAULT_PORTS.pg),
    natsPort: pick('nats-port', 1, DEFAULT_PORTS.nats),
    turnPort: pick('turn-port', 2, DEFAULT_PORTS.turn),
    httpPort: pick('http-port', 3, DEFAULT_PORTS.http, 65_534),
    relayPorts: values.has('relay-ports') ? range('relay-ports', values.get('relay-ports')!) : [...DEFAULT_PORTS.relay],
    coordinatorArgs: sep >= 0 ? args.slice(sep + 1) : [],
  };
  const used = [o.pgPort, o.natsPort, o.turnPort, o.httpPort, o.httpPort + 1];
  if (new Set(used).size !== used.length) {
    throw new RangeError(`Cannot start the cluster as two services would share a port: current ports are pg ${o.pgPort}, nats ${o.natsPort}, turn ${o.turnPort}, http ${o.httpPort}-${o.httpPort + 1}`);
  }
  return o;
}

function port(flag: string, v: string, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > max) throw new RangeError(`Cannot use '--${flag}' as it must be an integer in [1, ${max}]: current value is ${v}`);
  return n;
}

function range(flag: string, v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1024 || hi > 65_535 || lo >= hi) {
    throw new RangeError(`Cannot use '--${flag}' as it must be A-B with 1024 <= A < B <= 65535: current value is ${v}`);
  }
  return [lo, hi];
}

function absolute(path: string, cwd: string): string {
  const p = path.startsWith('/') ? path : `${cwd.replace(/\/+$/, '')}/${path}`;
  return p.replace(/\/+$/, '').replace(/\/\.\//g, '/');
}
