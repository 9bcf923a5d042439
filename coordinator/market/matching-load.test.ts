// Matcher CPU (issue: strangers can't knock the coordinator over). Against 92656e7, 40 fake contributors,
// 30 zero-bid 10k-shard jobs and `state` frames at 20/s made every matching round block ~0.6 s and /healthz
// answer in 0.7 s (median). Rounds are now bounded by free capacity (newcomers hold two leases until they
// finish work), spaced at least MIN_ROUND_MS apart, and state changes are rate limited per contributor.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../src/protocol/errors.ts';
import { sleep, startTestCoordinator } from '../testing/coordinator.ts';
import { MeshTestClient } from '../testing/mesh-client.ts';
import { onnxJob } from '../testing/fixtures.ts';
import { contributor } from '../testing/peers.ts';
import { OFFERS_PER_FREE_SLOT } from './matching.ts';
import { NEWCOMER_SLOTS } from './credibility.ts';

describe('market: matching under load', () => {
  it('keeps rounds proportional to free capacity and refuses state floods, with /healthz answering', async () => {
    const c = await startTestCoordinator({ trustNewcomers: false });
    try {
      const fakes = await Promise.all(Array.from({ length: 40 }, () => contributor(c.url, { maxConcurrent: 64 })));
      const clients = await Promise.all(Array.from({ length: 4 }, () => MeshTestClient.connect(c.url)));
      for (const client of clients) {
        for (let j = 0; j < 2; j++) await client.submit(onnxJob({ shards: 10_000, items: 1, bid: 1 }));
      }
      const roundsBefore = c.metrics.get('match_rounds');
      const offersBefore = c.metrics.get('match_offers');
      const msBefore = c.metrics.get('match_ms');
      // Every fake toggles pause/resume 20 times a second for two seconds while /healthz is polled.
      let refusedStates = 0;
      let changes = 0;
      const latencies: number[] = [];
      const end = Date.now() + 2000;
      const floods = fakes.map(async (f, i) => {
        let current = 'active';
        for (let k = 0; Date.now() < end; k++) {
          const state = (k + i) % 2 === 0 ? 'paused' : 'active';
          await f.request({ type: 'state', state }).then(() => {
            if (state !== current) changes++;
            current = state;
          }, (e) => {
            assert.ok(e instanceof MeshError && e.code === 'rate-limited', String(e));
            refusedStates++;
          });
          await sleep(50);
        }
      });
      const probe = (async () => {
        while (Date.now() < end) {
          const t = performance.now();
          await (await fetch(`${c.url}/healthz`)).body?.cancel();
          latencies.push(performance.now() - t);
          await sleep(20);
        }
      })();
      await Promise.all([...floods, probe]);
      const rounds = c.metrics.get('match_rounds') - roundsBefore;
      const offers = c.metrics.get('match_offers') - offersBefore;
      const roundMs = c.metrics.get('match_ms') - msBefore;
      const freeAtMost = fakes.length * NEWCOMER_SLOTS;
      assert.ok(rounds > 0);
      assert.ok(offers / rounds <= OFFERS_PER_FREE_SLOT * freeAtMost, `${offers / rounds} runs offered per round`);
      assert.ok(roundMs / rounds < 50, `a round took ${roundMs / rounds} ms on average`);
      // Each contributor may change state in a burst of 4, then 2 a second: at most 8 each in two seconds.
      assert.ok(refusedStates > 0);
      assert.ok(changes <= fakes.length * 9, `${changes} state changes went through`);
      latencies.sort((a, b) => a - b);
      assert.ok(latencies[Math.floor(latencies.length / 2)]! < 100, `/healthz median ${latencies[Math.floor(latencies.length / 2)]} ms`);
      await Promise.all([...fakes, ...clients].map((p) => p.close()));
    } finally {
      await c.close();
    }
  });
});
