import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { cpuCaps, gpuCaps, onnxJob } from '../testing/fixtures.ts';
import { contributor, outputHash } from '../testing/peers.ts';
import { CapacityBook, type CapacityResponse, MAX_TIMED, SUMMARY_TTL_MS } from './capacity.ts';
import type { Contributor } from './contributors.ts';

function row(peerId: string, gpu: boolean, state: 'active' | 'paused' = 'active'): Contributor {
  return { peerId, state, caps: gpu ? gpuCaps() : cpuCaps() } as Contributor;
}

describe('capacity: aggregate speeds by kernel kind', () => {
  it('summary() counts active contributors per kind and gives the median speed of the timed ones', () => {
    const book = new CapacityBook();
    book.record('onnx', 'a', 1000, 1000); // 1000 units/s
    book.record('onnx', 'b', 3000, 1000); // 3000
    book.record('onnx', 'c', 9000, 1000); // 9000, but paused
    book.record('matmul', 'b', 500, 100); // 5000
    const rows = [row('a', false), row('b', true), row('c', true, 'paused'), row('d', true)];
    assert.deepEqual(book.summary(() => rows, 0), {
      onnx: { active: 3, measured: 2, unitsPerSec: 1000 },
      matmul: { active: 2, measured: 1, unitsPerSec: 5000 },
      wgsl: { active: 2, measured: 0, unitsPerSec: null },
      rows: { active: 2, measured: 0, unitsPerSec: null },
    });
  });

  it('a flood of requests costs one pass per SUMMARY_TTL_MS; the next one sees new runs', () => {
    const book = new CapacityBook();
    let passes = 0;
    const rows = () => {
      passes++;
      return [row('a', false)];
    };
    for (let i = 0; i < 1000; i++) book.summary(rows, i % SUMMARY_TTL_MS);
    assert.equal(passes, 1);
    book.record('onnx', 'a', 2000, 1000);
    assert.equal(book.summary(rows, SUMMARY_TTL_MS).onnx.unitsPerSec, 2000);
    assert.equal(passes, 2);
  });

  it('hostile: unknown kinds and zero or negative work are ignored; at most MAX_TIMED peers are kept per kind', () => {
    const book = new CapacityBook();
    book.record('quantum' as never, 'a', 1000, 1);
    book.record('onnx', 'a', 0, 1);
    book.record('onnx', 'b', -5, 1);
    book.record('onnx', 'c', NaN, 1);
    assert.equal(book.speed('onnx', 'a'), undefined);
    assert.equal(book.speed('onnx', 'b'), undefined);
    for (let i = 0; i <= MAX_TIMED; i++) book.record('onnx', `p${i}`, 1000, 1000);
    assert.equal(book.speed('onnx', 'p0'), undefined, 'the oldest is forgotten');
    assert.equal(book.speed('onnx', `p${MAX_TIMED}`), 1000);
  });

  it('GET /api/capacity reports the speeds the coordinator timed, and no peer id', async () => {
    const c = await startTestCoordinator();
    try {
      const get = async (p: string) => {
        const res = await fetch(`${c.url}${p}`);
        return { status: res.status, body: await res.json() };
      };
      assert.deepEqual((await get('/api/capacity')).body, {
        onnx: { active: 0, measured: 0, unitsPerSec: null },
        matmul: { active: 0, measured: 0, unitsPerSec: null },
        wgsl: { active: 0, measured: 0, unitsPerSec: null },
        rows: { active: 0, measured: 0, unitsPerSec: null },
      });
      const worker = await contributor(c.url, { maxConcurrent: 2 });
      const client = await MeshTestClient.connect(c.url);
      await client.submit(onnxJob({ shards: 2, items: 1 }));
      for (let k = 0; k < 2; k++) {
        const { lease } = await worker.next('assign');
        await worker.claim(lease, outputHash(lease));
      }
      const body = (await eventually('a timed onnx speed', async () => {
        const r = (await get('/api/capacity')).body as CapacityResponse;
        return r.onnx.measured === 1 && r;
      })) as CapacityResponse;
      assert.equal(body.onnx.measured, 1);
      assert.ok(body.onnx.unitsPerSec! > 0);
      assert.ok(!JSON.stringify(body).includes(worker.peerId), 'aggregates only');
      assert.equal((await get('/api/capacity/onnx')).status, 404);
      assert.equal((await fetch(`${c.url}/api/capacity`, { method: 'POST' }).then(async (r) => (await r.body?.cancel(), r.status))), 405);
    } finally {
      await c.close();
    }
  });
});
