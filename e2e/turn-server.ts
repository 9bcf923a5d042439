// A coturn relay for e2e specs: started on 127.0.0.1 with explicit flags (RECIPES.md), TURN REST secret,
// loopback peers allowed (the whole suite runs on loopback; never allow them in production).
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A running turnserver. */
export interface TurnServer {
  readonly port: number;
  /** `turn:127.0.0.1:<port>?transport=udp` */
  readonly url: string;
  readonly secret: string;
  /** The server's log so far. */
  log(): string;
  /** Kills it (SIGKILL: gone at once, like a crashed relay) and waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `turnserver` (TURN_PATH, default /usr/bin/turnserver) on 127.0.0.1:`port` and waits until it answers STUN. */
export async function startTurnServer(port: number, secret = randomBytes(18).toString('base64url')): Promise<TurnServer> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-turn-'));
  const logFile = join(dir, 'turn.log');
  const child = spawn(process.env.TURN_PATH ?? '/usr/bin/turnserver', [
    '-n', '--no-cli', `--log-file=${logFile}`, '--simple-log', `--pidfile=${join(dir, 'pid')}`,
    '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1', `--listening-port=${port}`, '--min-port=49152', '--max-port=49999',
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=meshwork-e2e',
    '--allow-loopback-peers', '--no-tls', '--no-dtls', '--no-multicast-peers', '--verbose',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await stunAnswers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Cannot start turnserver on 127.0.0.1:${port}: ${child.exitCode === null ? 'no STUN answer within 10 s' : `it exited with ${child.exitCode}`}: ${stderr} ${log().slice(-2000)}`);
    }
  }
  return { port, url: `turn:127.0.0.1:${port}?transport=udp`, secret, log, stop };
}

/** Whether a STUN Binding request to 127.0.0.1:`port` gets an answer within 200 ms. */
function stunAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    socket.once('message', () => done(true));
    socket.once('error', () => done(false));
    socket.send(request, port, '127.0.0.1');
  });
}
