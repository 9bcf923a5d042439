// Memory per signalling connection, in-process: many idle PeerJS sessions over raw TCP (no client library, so
// the client side adds little), their heap cost bounded loosely, and everything they held collectable once
// they close. Needs --v8-flags=--expose-gc (as `npm run test:coordinator` runs); without it the test is skipped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type NetServer, serve, type ServeOptions, serveNode } from '../net/index.ts';
import type { ServeHandler } from '../net/http1.ts';
import { pendingDeadlines } from '../net/timers.ts';
import { createLogger } from '../log.ts';
import { Metrics } from '../metrics.ts';
import { SignallingServer } from './server.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const CONNS = 400;
/** Server and client heap per idle session, in bytes: ~9 KiB measured (~13.5 KiB before the lean-signalling changes). */
const MAX_HEAP_PER_CONN = 11 * 1024;

async function openRaw(port: number, id: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: '127.0.0.1', port });
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  await conn.write(new TextEncoder().encode(
    `GET /peerjs/peerjs?key=peerjs&id=${id}&token=t&version=1.5.5 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  const buf = new Uint8Array(512);
  let text = '';
  while (!text.includes('"OPEN"')) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`Cannot open ${id}: closed after ${JSON.stringify(text.slice(0, 80))}`);
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return conn;
}

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 20));
  }
  return Deno.memoryUsage().heapUsed;
}

const TRANSPORTS: [string, (o: ServeOptions, h: ServeHandler) => Promise<NetServer>][] = [
  ['node:net (what the coordinator serves on)', serveNode],
  ['Deno.listen', (o, h) => Promise.resolve(serve(o, h))],
];

describe('signalling memory', () => {
  for (const [transport, start] of TRANSPORTS) {
    it(`holds little per idle connection and lets every closed one be collected, on ${transport}`, { skip: gc === undefined }, async () => {
      const signalling = new SignallingServer(
        { path: '/peerjs/', key: 'peerjs', expireMs: 5000, aliveMs: 60_000, ratePerSec: 200, rateBurst: 400 },
        { metrics: new Metrics(), log: createLogger('error') },
      );
      const server = await start({ port: 0, maxConns: 10_000, maxConnsPerAddr: 10_000 }, (req, info) => signalling.handle(req, new URL(req.url), info.remoteAddr.hostname));
      try {
        // Warm up code paths and pools so the baseline is not charged to the connections.
        for (const c of await Promise.all(Array.from({ length: 20 }, (_, i) => openRaw(server.addr.port, `warm${i}`)))) c.close();
        while (signalling.peers > 0) await new Promise((r) => setTimeout(r, 10));
        const deadlines = pendingDeadlines();
        const before = await settle();

        const conns: Deno.TcpConn[] = [];
        for (let i = 0; i < CONNS; i += 50) conns.push(...await Promise.all(Array.from({ length: 50 }, (_, k) => openRaw(server.addr.port, `idle${i + k}`))));
        assert.equal(signalling.peers, CONNS);
        const perConn = ((await settle()) - before) / CONNS;
        console.log(`signalling heap per idle connection on ${transport} (server and raw client): ${Math.round(perConn)} bytes`);
        assert.ok(perConn < MAX_HEAP_PER_CONN, `heap per idle connection is ${Math.round(perConn)} bytes, over ${MAX_HEAP_PER_CONN}`);
        // Idle sessions hold no deadline of their own (no WebSocket idle timer, no write watchdog once drained).
        assert.ok(pendingDeadlines() <= deadlines + 2, `${pendingDeadlines() - deadlines} deadlines pending for ${CONNS} idle connections`);

        const sockets = [...signalling.realm.clients.values()].map((c) => new WeakRef(c.socket));
        for (const c of conns) c.close();
        conns.length = 0;
        for (let i = 0; i < 200 && signalling.peers > 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.equal(signalling.peers, 0);
        const after = await settle();
        const alive = sockets.filter((w) => w.deref() !== undefined).length;
        assert.equal(alive, 0, `${alive} of ${CONNS} closed sockets are still reachable`);
        // What stays is shared and bounded (the id map's table, compiled code), not per connection: under 2 KiB each.
        assert.ok(after - before < CONNS * 2048, `heap after close is ${Math.round((after - before) / 1024)} KiB above before`);
        assert.equal(pendingDeadlines(), deadlines);
      } finally {
        signalling.close();
        await server.shutdown();
      }
    });
  }
});
