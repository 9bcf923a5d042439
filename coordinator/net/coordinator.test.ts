import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { openSignal } from '../testing/signal-client.ts';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../signalling/server.ts';
import { RawClient } from '../testing/raw-client.ts';

describe('coordinator on coordinator/net', () => {
  it('reads only a small frame on /mesh before auth, and full-size ones after welcome', async () => {
    const c = await startTestCoordinator();
    try {
      const early = MeshTestClient.open(c.url);
      await early.nextOfType('challenge');
      early.send({ type: 'auth', pad: 'x'.repeat(5000) });
      assert.equal((await early.closed).code, 1009);
      const peer = await MeshTestClient.connect(c.url);
      peer.inbox.send({ type: 'balance', rid: 7, pad: 'x'.repeat(1_000_000) });
      const reply = await peer.inbox.next((f) => 'rid' in f && f.rid === 7, 'the reply to a 1 MB frame');
      assert.ok(reply.type === 'ok' || reply.type === 'error');
      assert.equal(peer.inbox.socket.readyState, WebSocket.OPEN);
      await peer.close();
    } finally {
      await c.close();
    }
  });

  it('refuses a signalling message over MAX_SIGNAL_MESSAGE_BYTES with 1009', async () => {
    const c = await startTestCoordinator();
    try {
      const a = openSignal(c.url, 'alice', 't');
      await a.nextOfType('OPEN');
      a.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'x'.repeat(MAX_SIGNAL_MESSAGE_BYTES) } });
      assert.equal((await a.closed).code, 1009);
    } finally {
      await c.close();
    }
  });

  it('caps connections per address (--max-conns-per-ip) and counts refusals in /metrics', async () => {
    const c = await startTestCoordinator({ maxConnsPerIp: 2, headerTimeoutMs: 5000 });
    const held = [await RawClient.connect(c.port), await RawClient.connect(c.port)];
    try {
      await eventually('two open connections', () => c.metrics.render().includes('meshwork_open_connections 2'));
      const over = await RawClient.connect(c.port);
      assert.ok(await over.endsWithin(1000));
      over.close();
      held.pop()!.close();
      const metrics: string = await eventually('a free slot', async () => {
        const res = await fetch(`${c.url}/metrics`, { headers: { connection: 'close' } }).catch(() => null);
        return res?.ok ? await res.text() : '';
      });
      assert.match(metrics, /meshwork_connections_refused_total\{kind="address-cap"\} [1-9]/);
      assert.match(metrics, /meshwork_connections_refused_total\{kind="slow-reader"\} 0/);
      assert.match(metrics, /# TYPE meshwork_open_connections gauge/);
    } finally {
      for (const h of held) h.close();
      await c.close();
    }
  });
});
