import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from './serve.ts';
import type { AcceptSource } from './listener.ts';
import type { RefusalReason } from './refusals.ts';
import { raiseFdLimit } from './rlimit.ts';
import { RawClient, within } from '../testing/raw-client.ts';
import { eventually } from '../testing/coordinator.ts';

const hello = () => new Response('ok');

/** GET / on a fresh connection; the status, or 0 when the server closed the connection instead. */
async function get(port: number): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    await c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    return (await c.readHead(2000)).status;
  } catch {
    return 0;
  } finally {
    c.close();
  }
}

function counter(): { sink: (r: RefusalReason) => void; count: (r: RefusalReason) => number } {
  const seen = new Map<RefusalReason, number>();
  return { sink: (r) => seen.set(r, (seen.get(r) ?? 0) + 1), count: (r) => seen.get(r) ?? 0 };
}

describe('net listener', () => {
  for (const cap of ['maxConnsPerAddr', 'maxConns'] as const) {
    it(`${cap} refuses connections over the cap at once and recovers when one closes`, async () => {
      const refused = counter();
      const server = serve({ [cap]: 3, onRefused: refused.sink }, hello);
      const held: RawClient[] = [];
      try {
        for (let i = 0; i < 3; i++) held.push(await RawClient.connect(server.addr.port));
        await eventually('three open connections', () => server.openConnections === 3);
        const over = await RawClient.connect(server.addr.port);
        assert.ok(await over.endsWithin(1000), 'the fourth connection is closed at once');
        over.close();
        assert.equal(refused.count(cap === 'maxConns' ? 'global-cap' : 'address-cap'), 1);
        held.pop()!.close();
        await eventually('a free slot', () => server.openConnections === 2);
        assert.equal(await get(server.addr.port), 200);
      } finally {
        for (const c of held) c.close();
        await server.shutdown(1000);
      }
    });
  }

  it('keeps answering after a burst of 2,000 idle connections against a cap of 500', async () => {
    raiseFdLimit();
    const refused = counter();
    const server = serve({ maxConns: 500, maxConnsPerAddr: 10_000, headerTimeoutMs: 500, onRefused: refused.sink }, hello);
    const burst: RawClient[] = [];
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, server.openConnections)), 5);
    try {
      for (let batch = 0; batch < 8; batch++) {
        burst.push(...await Promise.all(Array.from({ length: 250 }, () => RawClient.connect(server.addr.port))));
      }
      const started = performance.now();
      // The idle 500 hold every slot until their header timeout; then a real request gets through.
      await eventually('an answer during the burst', async () => (await get(server.addr.port)) === 200, 5000);
      assert.ok(performance.now() - started < 3000);
      assert.ok(peak <= 500, `peaked at ${peak} open connections`);
      assert.ok(refused.count('global-cap') >= 1000, `refused ${refused.count('global-cap')}`);
      // Every burst connection is either refused at accept or cut at its header timeout, none left behind.
      await eventually('the burst to be refused or timed out', () => refused.count('global-cap') + refused.count('header-timeout') >= 2000, 5000);
      assert.ok(peak <= 500, `peaked at ${peak} open connections`);
    } finally {
      clearInterval(sampler);
      for (const c of burst) c.close();
      await server.shutdown(1000);
    }
  });

  it('survives accept errors: counts them, logs at most once a second, and resumes', async () => {
    const logs: string[] = [];
    let failures = 0;
    const server = serve({
      acceptBackoffMs: 5,
      log: (level, msg) => logs.push(`${level} ${msg}`),
      listen: (o) => {
        const real = Deno.listen({ ...o, transport: 'tcp' });
        const source: AcceptSource = {
          addr: real.addr,
          close: () => real.close(),
          accept: () => {
            if (failures < 20) {
              failures++;
              return Promise.reject(new Error(failures % 2 ? 'Too many open files (os error 24)' : 'Connection aborted'));
            }
            return real.accept();
          },
        };
        return source;
      },
    }, hello);
    try {
      assert.equal(await within(get(server.addr.port), 3000, 'an answer after accept errors'), 200);
      assert.ok(server.acceptErrors >= 20, `counted ${server.acceptErrors}`);
      assert.ok(logs.length >= 1 && logs.length <= 2, logs.join('; '));
    } finally {
      await server.shutdown(1000);
    }
  });

  it('survives running out of descriptors for real (a child process under ulimit -n 64)', async () => {
    const fixture = new URL('./testdata/fd-starved-server.ts', import.meta.url).pathname;
    const child = new Deno.Command('bash', {
      args: ['-c', `ulimit -n 64 && exec "$0" run --allow-all "$1"`, Deno.execPath(), fixture],
      stdout: 'piped',
      stderr: 'null',
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const conns: Deno.Conn[] = [];
    try {
      const { port } = JSON.parse((await within(lines.read(), 10_000, 'the fixture to listen')).value!);
      for (let i = 0; i < 120; i++) conns.push(await Deno.connect({ hostname: '127.0.0.1', port }));
      await new Promise((r) => setTimeout(r, 500));
      for (const c of conns.splice(0)) c.close();
      const stats = await eventually('an answer after descriptors ran out', async () => {
        const res = await fetch(`http://127.0.0.1:${port}/stats`).catch(() => null);
        return res?.ok ? await res.json() : null;
      }, 5000);
      assert.ok(stats.acceptErrors > 0, JSON.stringify(stats));
      assert.ok(stats.refused['no-descriptors'] > 0, JSON.stringify(stats));
      assert.ok(stats.logs >= 1 && stats.logs <= 5, JSON.stringify(stats));
    } finally {
      for (const c of conns) c.close();
      child.kill('SIGTERM');
      await child.status;
      await lines.cancel();
    }
  });
});
