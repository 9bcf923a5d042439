/**
 * coordinator/net against Deno.serve + Deno.upgradeWebSocket, in one run, each server in its own process:
 * - memory per idle WebSocket: the server's RSS over 2,000 idle connections, and again after they close;
 * - echo rate: small text messages echoed per second over a few connections with a window in flight.
 * Prints one JSON line. Run: `deno run --allow-all bench/net_bench.ts [--conns 2000] [--seconds 3]`.
 * Not wired into `npm run bench` yet.
 */
import { serve as netServe, upgradeWebSocket } from '../coordinator/net/index.ts';

type Kind = 'net' | 'deno';

const arg = (name: string, fallback: number) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
};

/** Child mode: one echo server; GET /stats answers {rss, open} after a GC. */
function runServer(kind: Kind): void {
  let open = 0;
  const stats = () => {
    (globalThis as { gc?: () => void }).gc?.();
    return Response.json({ rss: Deno.memoryUsage().rss, open });
  };
  const echo = (socket: WebSocket) => {
    open++;
    socket.onmessage = (ev) => socket.send(ev.data);
    socket.onclose = () => open--;
  };
  const handler = (req: Request): Response => {
    if (new URL(req.url).pathname === '/stats') return stats();
    const { socket, response } = kind === 'net' ? upgradeWebSocket(req, { idleTimeoutMs: 0 }) : Deno.upgradeWebSocket(req, { idleTimeout: 0 });
    echo(socket);
    return response;
  };
  if (kind === 'net') {
    const s = netServe({ port: 0, maxConns: 100_000, maxConnsPerAddr: 100_000 }, handler);
    console.log(JSON.stringify({ port: s.addr.port }));
  } else {
    Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: ({ port }) => console.log(JSON.stringify({ port })) }, handler);
  }
}

/** A raw WebSocket handshake on a fresh connection (lighter than a WebSocket client per connection). */
async function rawSocket(port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: '127.0.0.1', port });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  const buf = new Uint8Array(1024);
  let text = '';
  while (!text.includes('\r\n\r\n')) {
    const n = await conn.read(buf);
    if (n === null) throw new Error('Handshake failed: connection closed');
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  if (!text.startsWith('HTTP/1.1 101')) throw new Error(`Handshake failed: ${text.split('\r\n')[0]}`);
  return conn;
}

async function echoRate(port: number, seconds: number, clients = 4, window = 32): Promise<number> {
  const payload = 'x'.repeat(64);
  let echoed = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    await new Promise<void>((resolve) => {
      ws.onmessage = () => {
        echoed++;
        if (performance.now() < end) ws.send(payload);
        else resolve();
      };
      for (let i = 0; i < window; i++) ws.send(payload);
    });
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
  }));
  return Math.round(echoed / seconds);
}

async function measure(kind: Kind, conns: number, seconds: number): Promise<Record<string, number>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ['run', '--allow-all', '--v8-flags=--expose-gc', new URL(import.meta.url).pathname, '--serve', kind],
    stdout: 'piped',
    stderr: 'inherit',
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const { port } = JSON.parse((await lines.read()).value!);
    const stats = async (): Promise<{ rss: number; open: number }> => await (await fetch(`http://127.0.0.1:${port}/stats`, { headers: { connection: 'close' } })).json();
    await stats();
    const base = await stats();
    const sockets: Deno.TcpConn[] = [];
    for (let i = 0; i < conns; i += 200) sockets.push(...await Promise.all(Array.from({ length: Math.min(200, conns - i) }, () => rawSocket(port))));
    await new Promise((r) => setTimeout(r, 500));
    const loaded = await stats();
    for (const s of sockets) s.close();
    for (let i = 0; i < 100 && (await stats()).open > 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    const after = await stats();
    const rate = await echoRate(port, seconds);
    const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
    return {
      rssBaseMB: mb(base.rss),
      rssLoadedMB: mb(loaded.rss),
      perIdleSocketKB: Math.round(((loaded.rss - base.rss) / conns / 1024) * 10) / 10,
      rssAfterCloseMB: mb(after.rss),
      openAfterClose: after.open,
      echoPerSec: rate,
    };
  } finally {
    child.kill('SIGTERM');
    await child.status;
    await lines.cancel().catch(() => undefined);
  }
}

if (import.meta.main) {
  const i = Deno.args.indexOf('--serve');
  if (i >= 0) runServer(Deno.args[i + 1] as Kind);
  else {
    const conns = arg('conns', 2000);
    const seconds = arg('seconds', 3);
    const net = await measure('net', conns, seconds);
    const deno = await measure('deno', conns, seconds);
    console.log(JSON.stringify({ bench: 'net', conns, seconds, net, deno }));
  }
}
