/**
 * Simulated contributors and clients around a real Market (in-memory ledger, no sockets) for `bench routing`:
 * each contributor has a round trip to the client; a shard takes two round trips (inputs in, outputs back) plus
 * its compute, in real time. Compute is a real f32 matmul in JS and outputs are really hashed, so a cached
 * answer (the stored output, hashed again by the client) is measured against real work.
 */
import type { ContributorLease, JobSpec, ServerFrame } from '../../src/protocol/coordinator.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import { openLedger } from '../../coordinator/ledger/kv-ledger.ts';
import { createLogger } from '../../coordinator/log.ts';
import { Metrics } from '../../coordinator/metrics.ts';
import { cpuCaps } from '../../coordinator/testing/fixtures.ts';
import { DEFAULT_LIMITS } from '../../coordinator/market/admission.ts';
import { TRUSTED } from '../../coordinator/market/credibility.ts';
import { Market } from '../../coordinator/market/market.ts';

/** A simulated contributor. */
export interface SimPeer {
  id: string;
  rttMs: number;
  /** Outputs it keeps, by lease's job-independent key (kernel + input hash). */
  store: Map<string, Uint8Array>;
}

/** One finished shard: who ran it, its round trip and how long it took (assign to paid). */
export interface ShardDone {
  contributor: string;
  rttMs: number;
  ms: number;
  cached: boolean;
}

/** Real work of one shard: an n^3 f32 matmul seeded by its input, returned as bytes. */
export function compute(seed: number, n: number): Uint8Array {
  const a = new Float32Array(n * n).map((_, i) => ((i * 31 + seed) % 17) / 17);
  const b = new Float32Array(n * n).map((_, i) => ((i * 7 + seed) % 13) / 13);
  const c = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const x = a[i * n + k]!;
      for (let j = 0; j < n; j++) c[i * n + j]! += x * b[k * n + j]!;
    }
  }
  return new Uint8Array(c.buffer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A market with simulated peers; `run(job)` drives one job to its end and returns its shards. */
export async function simMesh(peers: SimPeer[], opts: { reportRtt: boolean; n: number; client?: string }) {
  const client = opts.client ?? 'client';
  const ledger = await openLedger({ path: ':memory:', starterCredits: 1e12 });
  const byId = new Map(peers.map((p) => [p.id, p]));
  const waiting = new Map<string, (d: ShardDone) => void>();
  const jobs = new Map<string, JobSpec>();
  const market: Market = new Market({
    ledger,
    notify: (peer, f) => {
      if (f.type === 'assign') void serve(byId.get(peer)!, f);
      return true;
    },
    feeRate: 0.05, leaseMs: 60_000, claimWindowMs: 60_000, replicaWaitMs: 1000,
    limits: { ...DEFAULT_LIMITS, minEscrow: 0 },
    log: createLogger('silent'), metrics: new Metrics(), trust: TRUSTED,
  });
  async function serve(p: SimPeer, f: Extract<ServerFrame, { type: 'assign' }>): Promise<void> {
    const started = performance.now();
    const l: ContributorLease = f.lease;
    const key = `${f.spec.inputHash}`;
    await sleep(p.rttMs); // inputs arrive (a cached answer still needs the client to present them)
    let out = l.cached !== undefined ? p.store.get(key) : undefined;
    if (!out) out = compute(Number.parseInt(f.spec.inputHash.slice(0, 6), 16), opts.n);
    const hash = await sha256Hex(out);
    p.store.set(key, out);
    await sleep(p.rttMs); // outputs travel back; the client hashes them
    if ((await sha256Hex(out)) !== hash) throw new Error('output hash mismatch');
    // A verified shard may be paid by agreement (and its job end) before this receipt: that is fine.
    await market.claim(p.id, { jobId: l.jobId, shard: l.shard, leaseId: l.leaseId, outputHash: hash }, 'c2ln').catch(() => {});
    const spec = jobs.get(l.jobId)!;
    await market.receipt(client, { jobId: l.jobId, shard: l.shard, leaseId: l.leaseId, contributor: p.id, outputHash: hash, workUnits: spec.shards[l.shard]!.workUnits }, 'c2ln').catch(() => {});
    waiting.get(`${l.jobId}:${l.shard}:${p.id}`)?.({ contributor: p.id, rttMs: p.rttMs, ms: performance.now() - started, cached: l.cached !== undefined });
  }
  await ledger.ensureAccount(client, { network: 'net-client', perDay: Infinity });
  for (const [i, p] of peers.entries()) {
    await ledger.ensureAccount(p.id, { network: `net-${i}`, perDay: Infinity });
    market.register(p.id, { caps: cpuCaps(), askPrice: 1, maxConcurrent: 1 }, `10.${i >> 8}.${i & 255}.1`);
    if (opts.reportRtt) {
      market.rtt.report(client, p.id, p.rttMs);
      market.rtt.report(p.id, client, p.rttMs);
    }
  }
  return {
    market,
    ledger,
    /** Submits `spec` and resolves with its shards once the job is done. */
    async run(spec: JobSpec): Promise<ShardDone[]> {
      const done: ShardDone[] = [];
      const { jobId } = await market.submit(client, spec, JSON.stringify(spec).length);
      jobs.set(jobId, spec);
      for (const p of peers) for (let s = 0; s < spec.shards.length; s++) waiting.set(`${jobId}:${s}:${p.id}`, (d) => done.push(d));
      while (market.peek(jobId)?.state === 'running') await sleep(2);
      return done;
    },
    async close() {
      await market.shutdown();
      ledger.close();
    },
  };
}
