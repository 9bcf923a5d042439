import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { match, score, speedScale, type MatchContributor, type MatchRun } from './matcher.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';

const onnx: KernelSpec = { kind: 'onnx', model: { hash: 'a'.repeat(64), bytes: 100 }, outputs: ['y'] };
const spec: ShardSpec = { index: 0, inputs: [], outputs: [], inputHash: 'a'.repeat(64), workUnits: 10 };

function seeded(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
}

/** The primary placement rule written as a scan per run: the best score now, ties to lower ask, load, id. */
function reference(runs: MatchRun[], contributors: MatchContributor[]): string[] {
  const load = new Map(contributors.map((c) => [c.peerId, c.load]));
  const { fastest, prior } = speedScale(contributors.filter((c) => c.load < c.maxConcurrent && c.askPrice <= runs[0]!.bid));
  const out: string[] = [];
  for (const run of runs) {
    let best: MatchContributor | undefined;
    let bestScore = -Infinity;
    for (const c of contributors) {
      const l = load.get(c.peerId)!;
      if (l >= c.maxConcurrent || run.exclude.has(c.peerId) || c.askPrice > run.bid) continue;
      const s = score({ ...c, load: l }, run, fastest, prior);
      const tie = best && (c.askPrice - best.askPrice || l - load.get(best.peerId)! || (c.peerId < best.peerId ? -1 : 1));
      if (s > bestScore || (s === bestScore && tie !== undefined && tie < 0)) {
        best = c;
        bestScore = s;
      }
    }
    if (!best) continue;
    load.set(best.peerId, load.get(best.peerId)! + 1);
    out.push(best.peerId);
  }
  return out;
}

describe('matcher ranking heap', () => {
  it('match() places primaries as a scan of every contributor per run would', () => {
    for (let trial = 0; trial < 40; trial++) {
      const rand = seeded(trial + 1);
      const contributors: MatchContributor[] = Array.from({ length: 3 + Math.floor(rand() * 30) }, (_, i) => {
        const c: MatchContributor = {
          peerId: `p${i}`,
          caps: { cpu: { cores: 4, wasmSimd: true, wasmThreads: true, crossOriginIsolated: true }, ortEps: ['wasm'], gflops: { cpu: 10 } },
          askPrice: 1 + Math.floor(rand() * 3),
          maxConcurrent: 1 + Math.floor(rand() * 4),
          load: 0,
          reputation: Math.floor(rand() * 4) / 4,
          network: `n${i}`,
          credible: false,
        };
        c.load = Math.floor(rand() * (c.maxConcurrent + 1));
        if (rand() < 0.7) c.speed = 100 * (1 + Math.floor(rand() * 8));
        return c;
      });
      const runs: MatchRun[] = Array.from({ length: 1 + Math.floor(rand() * 40) }, (_, i) => {
        const exclude = new Set<string>();
        if (rand() < 0.3) exclude.add(`p${Math.floor(rand() * contributors.length)}`);
        return { jobId: 'j', shard: i, bid: 3, submittedAt: 1, seq: 1, kernel: onnx, spec, exclude, role: 'primary', avoidNetworks: new Set(), credibleOnly: false };
      });
      assert.deepEqual(match(runs, contributors).map((a) => a.contributor), reference(runs, contributors), `trial ${trial}`);
    }
  });
});
