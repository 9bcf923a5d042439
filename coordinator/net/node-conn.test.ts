import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listenNode, type NetConn, NodeConn, PAUSE_BYTES } from './node-conn.ts';
import { serveNode } from './serve.ts';
import { upgradeWebSocket } from './upgrade.ts';
import { RawClient, within } from '../testing/raw-client.ts';
import { eventually } from '../testing/coordinator.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pair(): Promise<{ server: NetConn; client: Deno.TcpConn; close: () => void }> {
  const l = await listenNode({ hostname: '127.0.0.1', port: 0 });
  const client = await Deno.connect({ hostname: '127.0.0.1', port: l.addr.port });
  const server = await within(l.accept(), 3000, 'an accepted connection');
  return {
    server,
    client,
    close: () => {
      l.close();
      try {
        client.close();
      } catch { /* closed by the test */ }
      server.close();
    },
  };
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

describe('node-conn: node:net sockets read and written like Deno.Conn', () => {
  it('reads into small buffers in order, then null at end of input', async () => {
    const { server, client, close } = await pair();
    try {
      const sent = new Uint8Array(10_000).map((_, i) => i & 255);
      await writeAll(client, sent);
      await client.closeWrite();
      const got: number[] = [];
      const buf = new Uint8Array(777);
      for (let n = await server.read(buf); n !== null; n = await server.read(buf)) got.push(...buf.subarray(0, n));
      assert.deepEqual(new Uint8Array(got), sent);
      assert.equal(await server.read(buf), null);
      assert.equal(server.remoteAddr.transport === 'tcp' && server.remoteAddr.hostname, '127.0.0.1');
    } finally {
      close();
    }
  });

  it('writes reach the peer; a pending read fails once the connection is closed', async () => {
    const { server, client, close } = await pair();
    try {
      assert.equal(await server.write(new TextEncoder().encode('hello')), 5);
      const buf = new Uint8Array(16);
      const n = await within(client.read(buf), 3000, 'the bytes');
      assert.equal(new TextDecoder().decode(buf.subarray(0, n!)), 'hello');
      const pending = server.read(buf);
      server.close();
      await assert.rejects(pending, Deno.errors.BadResource);
      await assert.rejects(server.write(new Uint8Array(1)), Deno.errors.BrokenPipe);
    } finally {
      close();
    }
  });

  it('stops reading from a peer whose bytes are not consumed (holds about PAUSE_BYTES, not everything sent)', async () => {
    const { server, client, close } = await pair();
    try {
      const writing = writeAll(client, new Uint8Array(8 * 1024 * 1024)).catch(() => undefined);
      await sleep(500);
      const held = (server as NodeConn).unread;
      assert.ok(held >= PAUSE_BYTES && held <= PAUSE_BYTES + 256 * 1024, `holds ${held} bytes`);
      close();
      await writing;
    } finally {
      close();
    }
  });
});

/** `count` masked text frames of `text` (zero mask key), as one buffer. */
function frames(text: string, count: number): Uint8Array {
  const payload = new TextEncoder().encode(text);
  if (payload.length >= 126) throw new RangeError(`Cannot build frames of ${payload.length} bytes here`);
  const one = new Uint8Array(6 + payload.length);
  one.set([0x81, 0x80 | payload.length, 0, 0, 0, 0]);
  one.set(payload, 6);
  const out = new Uint8Array(one.length * count);
  for (let i = 0; i < count; i++) out.set(one, i * one.length);
  return out;
}

describe('serveNode(): fairness between connections', () => {
  it('a connection flooding frames does not hold up another connection\'s echo (p50 < 100 ms, p90 < 250 ms)', async () => {
    let flooded = 0;
    const server = await serveNode({}, (req) => {
      const { socket, response } = upgradeWebSocket(req, {});
      socket.onmessage = (ev) => {
        if (ev.data === 'ping') socket.send('pong');
        else flooded++;
      };
      return response;
    });
    const flood = await RawClient.connect(server.addr.port);
    const probe = await RawClient.connect(server.addr.port);
    try {
      await flood.handshake();
      await probe.handshake();
      const batch = frames('f'.repeat(100), 500);
      let stop = false;
      const pumping = (async () => {
        while (!stop) await flood.write(batch);
      })();
      await eventually('the flood arriving', () => flooded > 2000, 5000);
      const rtts: number[] = [];
      const before = flooded;
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        await probe.sendFrame(1, 'ping');
        const f = await probe.readFrame(3000);
        rtts.push(performance.now() - t0);
        assert.equal(new TextDecoder().decode(f.payload), 'pong');
      }
      stop = true;
      await pumping;
      assert.ok(flooded - before > 1000, `the flood kept being read meanwhile: ${flooded - before} frames`);
      // Median and 90th percentile, not the maximum: the shared test machine stalls a process now and then.
      const sorted = rtts.toSorted((x, y) => x - y);
      const seen = `echo round trips during the flood, ms: ${rtts.map(Math.round).join(', ')}`;
      assert.ok(sorted[15]! < 100, seen);
      assert.ok(sorted[26]! < 250, seen);
    } finally {
      flood.close();
      probe.close();
      await server.shutdown(1000);
    }
  });
});

describe('fairTransportFits()', () => {
  it('wants the descriptor limit to exceed the connection cap by 1,024', async () => {
    const { fairTransportFits } = await import('./node-conn.ts');
    assert.equal(fairTransportFits(20_000, 10_000), true);
    assert.equal(fairTransportFits(20_000, 19_000), false);
    assert.equal(fairTransportFits(-1, 10), false);
  });
});
