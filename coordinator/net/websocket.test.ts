import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type NetServer, serve, type ServeOptions } from './serve.ts';
import { upgradeWebSocket, type UpgradeOptions } from './upgrade.ts';
import type { ServerWebSocket } from './websocket.ts';
import type { RefusalReason } from './refusals.ts';
import { RawClient, within } from '../testing/raw-client.ts';
import { eventually } from '../testing/coordinator.ts';

/** What a test server saw: its sockets and their close events. */
interface Seen {
  sockets: ServerWebSocket[];
  closes: CloseEvent[];
  refused: RefusalReason[];
}

/**
 * An echo server: text and binary messages come back as sent; the text 'raise' raises maxMessageBytes to
 * 64 KiB; `onOpen` may act on each new socket.
 */
async function withEcho(
  o: { ws?: UpgradeOptions; serve?: ServeOptions; onOpen?: (s: ServerWebSocket) => void },
  fn: (server: NetServer, seen: Seen) => Promise<void>,
): Promise<void> {
  const seen: Seen = { sockets: [], closes: [], refused: [] };
  const server = serve({ ...o.serve, onRefused: (r) => seen.refused.push(r) }, (req) => {
    const { socket, response } = upgradeWebSocket(req, o.ws ?? {});
    seen.sockets.push(socket);
    socket.onopen = () => o.onOpen?.(socket);
    socket.onmessage = (ev) => {
      if (ev.data === 'raise') socket.maxMessageBytes = 64 * 1024;
      socket.send(ev.data);
    };
    socket.addEventListener('close', (ev) => seen.closes.push(ev));
    return response;
  });
  try {
    await fn(server, seen);
  } finally {
    await server.shutdown(1000);
  }
}

function nextMessage(ws: WebSocket): Promise<MessageEvent> {
  return within(new Promise((resolve) => ws.addEventListener('message', resolve, { once: true })), 3000, 'a message');
}

describe('net WebSocket: with Deno\'s client', () => {
  it('echoes text and binary, then closes cleanly on both sides', async () => {
    await withEcho({}, async (server, seen) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/ws`);
      ws.binaryType = 'arraybuffer';
      await within(new Promise((r) => (ws.onopen = r)), 3000, 'open');
      ws.send('héllo ✓');
      assert.equal((await nextMessage(ws)).data, 'héllo ✓');
      const bytes = new Uint8Array(300_000).map((_, i) => (i * 31 + (i >> 8)) & 255);
      ws.send(bytes);
      assert.deepEqual(new Uint8Array((await nextMessage(ws)).data), bytes);
      assert.equal(seen.sockets[0]!.readyState, WebSocket.OPEN);
      const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
      ws.close(1000, 'done');
      assert.equal((await within(closed, 3000, 'close')).code, 1000);
      await eventually('the server close event', () => seen.closes.length === 1);
      assert.deepEqual([seen.closes[0]!.code, seen.closes[0]!.reason, seen.closes[0]!.wasClean], [1000, 'done', true]);
      await eventually('the connection to be released', () => server.openConnections === 0);
    });
  });

  it('echoes messages across every header size and both encoding paths intact', async () => {
    await withEcho({ ws: { maxMessageBytes: 256 * 1024 } }, async (server) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/ws`);
      ws.binaryType = 'arraybuffer';
      await within(new Promise((r) => (ws.onopen = r)), 3000, 'open');
      for (const n of [0, 1, 41, 42, 43, 125, 126, 127, 5461, 5462, 16_000, 65_535, 65_536, 100_000]) {
        const text = 'é'.repeat(n >> 1) + 'a'.repeat(n - (n >> 1));
        ws.send(text);
        assert.equal((await nextMessage(ws)).data, text, `text of ${n} characters`);
        const bytes = new Uint8Array(n).map((_, i) => i * 7);
        ws.send(bytes);
        assert.deepEqual(new Uint8Array((await nextMessage(ws)).data), bytes, `${n} bytes`);
      }
      ws.close();
    });
  });

  it('raises maxMessageBytes on a live socket; without it the same message is refused with 1009', async () => {
    await withEcho({ ws: { maxMessageBytes: 1024 } }, async (server) => {
      const url = `ws://127.0.0.1:${server.addr.port}/ws`;
      const raised = new WebSocket(url);
      await within(new Promise((r) => (raised.onopen = r)), 3000, 'open');
      raised.send('raise');
      assert.equal((await nextMessage(raised)).data, 'raise');
      raised.send('x'.repeat(4096));
      assert.equal(((await nextMessage(raised)).data as string).length, 4096);
      raised.close();
      const plain = new WebSocket(url);
      await within(new Promise((r) => (plain.onopen = r)), 3000, 'open');
      const closed = new Promise<CloseEvent>((r) => (plain.onclose = r));
      plain.send('x'.repeat(4096));
      assert.equal((await within(closed, 3000, 'close')).code, 1009);
    });
  });
});

describe('net WebSocket: with a raw client', () => {
  it('reassembles a fragmented message around a ping, and answers the ping with its payload', async () => {
    await withEcho({}, async (server) => {
      const c = await RawClient.connect(server.addr.port);
      try {
        await c.handshake();
        await c.sendFrame(0x1, 'frag', { fin: false });
        await c.sendFrame(0x9, 'are you there');
        await c.sendFrame(0x0, 'men', { fin: false });
        await c.sendFrame(0x0, 'ted ✓');
        const pong = await c.readFrame();
        assert.deepEqual([pong.opcode, new TextDecoder().decode(pong.payload)], [0xa, 'are you there']);
        const echo = await c.readFrame();
        assert.deepEqual([echo.opcode, echo.fin, new TextDecoder().decode(echo.payload)], [0x1, true, 'fragmented ✓']);
        await c.sendFrame(0x8, new Uint8Array([0x03, 0xe8]));
        assert.equal((await c.readClose()).code, 1000);
        assert.ok(await c.endsWithin(1000), 'the server closes TCP after the handshake');
      } finally {
        c.close();
      }
    });
  });

  it('fails unmasked frames with 1002, invalid UTF-8 with 1007 and a stray continuation with 1002', async () => {
    await withEcho({}, async (server, seen) => {
      const cases: [string, (c: RawClient) => Promise<void>, number][] = [
        ['unmasked', (c) => c.sendFrame(0x1, 'hi', { mask: false }), 1002],
        ['bad utf-8', (c) => c.sendFrame(0x1, new Uint8Array([0x68, 0xc3, 0x28])), 1007],
        ['continuation first', (c) => c.sendFrame(0x0, 'x'), 1002],
        ['rsv bit', (c) => c.sendFrame(0x1, 'x', { rsv: 4 }), 1002],
        ['big ping', (c) => c.sendFrame(0x9, new Uint8Array(200)), 1002],
      ];
      for (const [what, send, code] of cases) {
        const c = await RawClient.connect(server.addr.port);
        try {
          await c.handshake();
          await send(c);
          assert.equal((await c.readClose()).code, code, what);
          assert.ok(await c.endsWithin(1000), what);
        } finally {
          c.close();
        }
      }
      await eventually('all close events', () => seen.closes.length === cases.length);
      assert.deepEqual(seen.closes.map((e) => e.code), cases.map(([, , code]) => code));
    });
  });

  it('refuses a frame declaring 64 MiB from its header with 1009, without buffering it', async () => {
    await withEcho({ ws: { maxMessageBytes: 1024 * 1024 } }, async (server, seen) => {
      const c = await RawClient.connect(server.addr.port);
      try {
        await c.handshake();
        const before = Deno.memoryUsage().rss;
        // The header claims 64 MiB; only 4 KiB follow, and the answer must not wait for the rest.
        await c.sendFrame(0x2, new Uint8Array(4096), { length: 64 * 1024 * 1024 });
        assert.equal((await c.readClose(2000)).code, 1009);
        const grew = Deno.memoryUsage().rss - before;
        assert.ok(grew < 16 * 1024 * 1024, `RSS grew by ${grew} bytes`);
        assert.ok(await c.endsWithin(4000));
        assert.deepEqual(seen.refused, ['too-large']);
      } finally {
        c.close();
      }
    });
  });

  it('closes a reader that never reads once bufferedAmount passes maxBufferedBytes', async () => {
    const cap = 1024 * 1024;
    let maxBuffered = 0;
    let sent = 0;
    await withEcho({
      ws: { maxBufferedBytes: cap, closeTimeoutMs: 300 },
      onOpen: async (s) => {
        const chunk = new Uint8Array(64 * 1024);
        // At most 64 MiB: far more than loopback socket buffers absorb, so only the cap can stop it earlier.
        for (let i = 0; i < 1024 && s.readyState === WebSocket.OPEN; i++) {
          s.send(chunk);
          sent += chunk.length;
          maxBuffered = Math.max(maxBuffered, s.bufferedAmount);
          await new Promise((r) => setTimeout(r, 0));
        }
      },
    }, async (server, seen) => {
      const c = await RawClient.connect(server.addr.port);
      try {
        await c.handshake();
        await eventually('the slow reader to be closed', () => seen.closes.length === 1, 10_000);
        assert.deepEqual([seen.closes[0]!.code, seen.closes[0]!.reason], [1008, 'slow reader']);
        assert.ok(maxBuffered <= cap, `bufferedAmount reached ${maxBuffered}`);
        assert.ok(sent < 64 * 1024 * 1024, `sent ${sent} bytes before closing`);
        assert.ok(seen.refused.includes('slow-reader'));
        await eventually('the connection to be released', () => server.openConnections === 0);
      } finally {
        c.close();
      }
    });
  });

  it('frees the connection slot of a client that never answers our close within closeTimeoutMs', async () => {
    await withEcho({ ws: { closeTimeoutMs: 300 }, serve: { maxConnsPerAddr: 1 }, onOpen: (s) => s.close(4000, 'go away') }, async (server, seen) => {
      const c = await RawClient.connect(server.addr.port);
      try {
        await c.handshake();
        const t = performance.now();
        assert.deepEqual(await c.readClose(), { code: 4000, reason: 'go away' });
        // No close frame back: the server must hang up by itself.
        assert.ok(await c.endsWithin(2000));
        const took = performance.now() - t;
        assert.ok(took >= 250 && took < 1500, `hung up after ${took} ms`);
        await eventually('the slot to be free', () => server.openConnections === 0);
        assert.equal(seen.closes[0]!.wasClean, false);
        const again = await RawClient.connect(server.addr.port);
        await again.handshake();
        again.close();
      } finally {
        c.close();
      }
    });
  });

  it('pings an idle peer and drops it when no pong comes', async () => {
    await withEcho({ ws: { idleTimeoutMs: 150 } }, async (server, seen) => {
      const c = await RawClient.connect(server.addr.port);
      try {
        await c.handshake();
        assert.equal((await c.readFrame(1000)).opcode, 0x9);
        assert.ok(await c.endsWithin(1000));
        await eventually('the close event', () => seen.closes.length === 1);
        assert.equal(seen.closes[0]!.code, 1006);
      } finally {
        c.close();
      }
    });
  });

  it('refuses a handshake without a valid key as the handler decides, and keeps serving', async () => {
    const server = serve({}, (req) => {
      try {
        return upgradeWebSocket(req).response;
      } catch (err) {
        return new Response((err as Error).message, { status: 400 });
      }
    });
    try {
      const c = await RawClient.connect(server.addr.port);
      await c.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n');
      assert.equal((await c.readHead()).status, 400);
      c.close();
      const ok = await RawClient.connect(server.addr.port);
      await ok.handshake();
      ok.close();
    } finally {
      await server.shutdown(1000);
    }
  });
});
