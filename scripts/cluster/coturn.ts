/**
 * The cluster's TURN relay: coturn on 127.0.0.1, UDP and TCP, with TURN REST credentials (`use-auth-secret`):
 * coordinators mint short-lived credentials from the shared secret, which is generated once and kept in
 * `<data>/turn-secret` (0600). The configuration is written to `<data>/turnserver.conf` (0600, it holds the
 * secret) on every start, so the secret never shows in the process list.
 */
import type { Binaries } from './binaries.ts';
import { pidFile } from './leftovers.ts';
import { assertPortFree, type Service, ServiceError, spawnLogged, waitFor } from './process.ts';
import { readOrCreateSecret } from './secret.ts';
import { stunBinding } from './stun.ts';

/** What `startCoturn` needs. */
export interface CoturnOptions {
  binaries: Binaries;
  dataDir: string;
  logDir: string;
  port: number;
  relayPorts: [number, number];
}

/** The running relay. */
export interface CoturnService extends Service {
  /** The `static-auth-secret`, for the coordinators' `--turn-secret`. */
  secret: string;
  /** `turn:127.0.0.1:<port>?transport=udp` and `...tcp`, for the coordinators' `--turn-url`. */
  turnUrls: string[];
  /** `stun:127.0.0.1:<port>`, for the coordinators' `--ice`. */
  stunUrl: string;
}

const NAME = 'coturn';
const READY_MS = 10_000;

/** The turnserver.conf of a loopback relay. */
export function coturnConfig(o: { port: number; relayPorts: [number, number]; secret: string; dir: string }): string {
  return `# Written by scripts/cluster.ts at every start: edits are overwritten.
listening-ip=127.0.0.1
relay-ip=127.0.0.1
listening-port=${o.port}
min-port=${o.relayPorts[0]}
max-port=${o.relayPorts[1]}
use-auth-secret
static-auth-secret=${o.secret}
realm=meshwork
fingerprint
no-cli
# No certificate here: TURN over TLS/DTLS (port 5349) is off. Production serves turns: with a real certificate.
no-tls
no-dtls
no-multicast-peers
# Every peer of this cluster is on 127.0.0.1, so relaying TO loopback must be allowed, and the private-range
# deny rules a public relay needs (denied-peer-ip for 0.0.0.0/8, 10/8, 100.64/10, 127/8, 169.254/16,
# 172.16/12, 192.168/16, ::1, fc00::/7, fe80::/10) must stay off: they would refuse every allocation here.
# Never run a reachable relay like this: it would let anyone reach services on the relay's own host and LAN.
allow-loopback-peers
log-file=stdout
simple-log
pidfile=${o.dir}/turnserver.pid
userdb=${o.dir}/turndb
`;
}

/** Writes the configuration, starts turnserver and waits until it answers STUN on UDP and TCP. */
export async function startCoturn(o: CoturnOptions): Promise<CoturnService> {
  const log = `${o.logDir}/coturn.log`;
  const dir = `${o.dataDir}/coturn`;
  await assertPortFree(NAME, log, o.port);
  await assertPortFree(NAME, log, o.port, true);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const secret = await readOrCreateSecret(`${o.dataDir}/turn-secret`);
  const conf = `${o.dataDir}/turnserver.conf`;
  await Deno.writeTextFile(conf, coturnConfig({ port: o.port, relayPorts: o.relayPorts, secret, dir }), { mode: 0o600 });
  await Deno.chmod(conf, 0o600);
  let bindFailed = '';
  const child = await spawnLogged({
    name: NAME,
    cmd: o.binaries.turnserver,
    args: ['-c', conf],
    log,
    setsid: o.binaries.setsid,
    pidFile: pidFile(o.dataDir, NAME),
    // coturn keeps retrying a port it cannot bind instead of exiting: treat that as a failed start.
    onLine: (line) => {
      if (!bindFailed && /cannot bind|errno=98/i.test(line)) bindFailed = line.trim();
    },
  });
  const answers = async () => !bindFailed && await stunBinding('127.0.0.1', o.port, 'udp', 300) && await stunBinding('127.0.0.1', o.port, 'tcp', 300);
  if (!await waitFor(answers, READY_MS, () => child.exited() || bindFailed !== '', 100)) {
    await child.stop(2000);
    const why = bindFailed ? `it could not bind (${bindFailed})` : child.exited() ? `it exited (${child.lastWords()})` : `it did not answer STUN within ${READY_MS / 1000} s`;
    throw new ServiceError(NAME, log, `Cannot start ${NAME} as ${why}`);
  }
  return {
    name: NAME,
    log,
    pid: child.pid,
    secret,
    turnUrls: [`turn:127.0.0.1:${o.port}?transport=udp`, `turn:127.0.0.1:${o.port}?transport=tcp`],
    stunUrl: `stun:127.0.0.1:${o.port}`,
    summary: `turn:127.0.0.1:${o.port} UDP+TCP, relay ports ${o.relayPorts[0]}-${o.relayPorts[1]}, realm meshwork (secret in ${o.dataDir}/turn-secret)`,
    ended: child.status.then((s) => `exited with code ${s.code}`),
    stop: () => child.stop(5000),
  };
}
