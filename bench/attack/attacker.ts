/**
 * One hostile load against a coordinator, run as its own process so the load generator's CPU is not the
 * prober's: `deno run -A bench/attack/attacker.ts <kind> <baseUrl> <seconds>`. Kinds:
 * - flood: unauthenticated sockets sending 3.3 MiB submit frames, 1,000 slowloris connections, 2,000 idle
 *   TCP connections and oversized frames, all at once;
 * - matcher: 40 contributors declaring 64 slots that never finish, clients submitting the largest jobs they
 *   may, and every contributor toggling pause/resume 20 times a second;
 * - slow-reader: a signalling peer that never reads while 10 senders relay 60 KB offers to it.
 * Prints one JSON line with what it did when it stops (SIGTERM or the time is up). Bounded in count and time.
 */
import { MeshTestClient } from '../../coordinator/testing/mesh-client.ts';
import { contributor } from '../../coordinator/testing/peers.ts';
import { onnxJob } from '../../coordinator/testing/fixtures.ts';
import { openSignal } from '../../coordinator/testing/signal-client.ts';

const [kind, base, secondsArg] = Deno.args;
const seconds = Number(secondsArg ?? 10);
const url = new URL(base!);
const port = Number(url.port);
const end = Date.now() + seconds * 1000;
const stats: Record<string, number> = {};
const bump = (k: string, n = 1) => (stats[k] = (stats[k] ?? 0) + n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const held: { close(): void }[] = [];

async function tcp(): Promise<Deno.TcpConn | undefined> {
  try {
    return await Deno.connect({ hostname: url.hostname, port });
  } catch {
    bump('connect-failed');
    return undefined;
  }
}

async function flood(): Promise<void> {
  const frame = JSON.stringify({ type: 'submit', rid: 1, job: { pad: 'x'.repeat(3.3 * 1024 * 1024) }, signature: 'x' });
  const tasks: Promise<void>[] = [];
  // 150 unauthenticated mesh sockets, each sending one huge submit (refused unread before auth).
  tasks.push((async () => {
    for (let i = 0; i < 150 && Date.now() < end; i++) {
      const ws = new WebSocket(`${base!.replace(/^http/, 'ws')}/mesh`);
      ws.onopen = () => {
        try {
          ws.send(frame);
          bump('submit-frames');
        } catch { /* closed */ }
      };
      ws.onclose = () => bump('mesh-closed');
      ws.onerror = () => {};
      held.push(ws);
      await sleep(20);
    }
  })());
  // 1,000 slowloris connections: one header byte a second.
  tasks.push((async () => {
    const slow: Deno.TcpConn[] = [];
    for (let i = 0; i < 1000 && Date.now() < end; i++) {
      const c = await tcp();
      if (!c) continue;
      slow.push(c);
      held.push(c);
      c.write(new TextEncoder().encode('GET /healthz HTTP/1.1\r\n')).catch(() => {});
    }
    bump('slowloris', slow.length);
    while (Date.now() < end) {
      await sleep(1000);
      for (const c of slow) c.write(new TextEncoder().encode('X-a: b\r\n')).catch(() => bump('slowloris-cut'));
    }
  })());
  // 2,000 idle TCP connections that never send anything.
  tasks.push((async () => {
    for (let i = 0; i < 2000 && Date.now() < end; i++) {
      const c = await tcp();
      if (c) {
        held.push(c);
        bump('idle');
      }
    }
  })());
  await Promise.all(tasks);
  while (Date.now() < end) await sleep(100);
}

async function matcher(): Promise<void> {
  const fakes: MeshTestClient[] = [];
  for (let i = 0; i < 40; i++) fakes.push(await contributor(base!, { maxConcurrent: 64 }));
  held.push(...fakes.map((f) => ({ close: () => void f.close() })));
  const clients = await Promise.all(Array.from({ length: 4 }, () => MeshTestClient.connect(base!)));
  held.push(...clients.map((c) => ({ close: () => void c.close() })));
  for (const c of clients) {
    for (let j = 0; j < 2; j++) {
      await c.submit(onnxJob({ shards: 10_000, items: 1, bid: 1 })).then(() => bump('jobs'), () => bump('jobs-refused'));
    }
  }
  let k = 0;
  while (Date.now() < end) {
    const state = k++ % 2 === 0 ? 'paused' : 'active';
    await Promise.all(fakes.map((f) => f.request({ type: 'state', state }).then(() => bump('state-ok'), () => bump('state-refused'))));
    await sleep(50);
  }
}

async function slowReader(): Promise<void> {
  const sink = await tcp();
  if (!sink) return;
  held.push(sink);
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await sink.write(new TextEncoder().encode(
    `GET /peerjs/peerjs?key=peerjs&id=sink&token=t&version=1.5.5 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  // The sink never reads again.
  const senders = [];
  for (let i = 0; i < 10; i++) {
    const s = openSignal(base!, `sender${i}`, 't');
    await s.opened.catch(() => {});
    senders.push(s);
    held.push({ close: () => void s.close() });
  }
  const sdp = 'y'.repeat(60_000);
  while (Date.now() < end) {
    for (const s of senders) {
      try {
        s.send({ type: 'OFFER', dst: 'sink', payload: { sdp } });
        bump('offers');
      } catch {
        bump('send-failed');
      }
    }
    await sleep(5);
  }
}

const run = { flood, matcher, 'slow-reader': slowReader }[kind ?? ''];
if (!run) {
  console.error(`Cannot attack as '${kind}' is not one of flood, matcher, slow-reader`);
  Deno.exit(2);
}
let finished = false;
const finish = () => {
  if (finished) return;
  finished = true;
  for (const h of held) {
    try {
      h.close();
    } catch { /* gone */ }
  }
  console.log(JSON.stringify({ kind, stats }));
  setTimeout(() => Deno.exit(0), 200);
};
Deno.addSignalListener('SIGTERM', finish);
await run().catch((err) => bump(`error:${(err as Error).message.slice(0, 60)}`));
finish();
