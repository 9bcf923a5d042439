/**
 * The market's state on Deno KV (the embedded engine; the same KV file as the ledger). Keys:
 *
 * | key | value |
 * |---|---|
 * | `['job', jobId]` | the job's header (StoredJob without its spec) and how many spec chunks it has |
 * | `['jobspec', jobId, k]` | the spec's JSON text, in chunks under KV's 64 KiB value limit |
 * | `['shard', jobId, index]` | a shard's state, once it changed |
 * | `['cred', peerId]` | a contributor's track record |
 *
 * A job's spec chunks are written before its header, so a header always finds its whole spec; writes are
 * split into atomics under KV's limits (MAX_MUTATIONS mutations, MAX_BATCH_CHARS of values).
 */
import type { MarketStore, StoredCredibility, StoredJob, StoredShard } from '../types.ts';

const CHUNK_CHARS = 60_000;
const MAX_MUTATIONS = 500;
const MAX_BATCH_CHARS = 500_000;

interface Header extends Omit<StoredJob, 'spec'> {
  specChunks: number;
}

/** The market's state in a Deno KV database. */
export class KvMarketStore implements MarketStore {
  constructor(private readonly kv: Deno.Kv) {}

  async putJob(job: StoredJob): Promise<void> {
    const text = JSON.stringify(job.spec);
    const chunks: string[] = [];
    for (let at = 0; at < text.length; at += CHUNK_CHARS) chunks.push(text.slice(at, at + CHUNK_CHARS));
    await this.#write(chunks.map((c, k) => [['jobspec', job.jobId, k], c] as const));
    const { spec: _spec, ...rest } = job;
    await this.#write([[['job', job.jobId], { ...rest, specChunks: chunks.length } satisfies Header]]);
  }

  async putShards(jobId: string, shards: readonly (readonly [number, StoredShard])[]): Promise<void> {
    await this.#write(shards.map(([i, s]) => [['shard', jobId, i], s] as const));
  }

  async endJob(jobId: string): Promise<void> {
    await this.kv.delete(['job', jobId]);
    for (const prefix of [['jobspec', jobId], ['shard', jobId]]) {
      let batch = this.kv.atomic();
      let n = 0;
      for await (const e of this.kv.list({ prefix }, { batchSize: 500 })) {
        batch.delete(e.key);
        if (++n % MAX_MUTATIONS === 0) {
          await batch.commit();
          batch = this.kv.atomic();
        }
      }
      await batch.commit();
    }
  }

  async *runningJobs(owner?: string): AsyncIterable<{ job: StoredJob; shards: Map<number, StoredShard> }> {
    for await (const e of this.kv.list<Header>({ prefix: ['job'] })) {
      const { specChunks, ...header } = e.value;
      if (owner !== undefined && header.owner !== owner) continue;
      let text = '';
      for (let k = 0; k < specChunks; k++) text += (await this.kv.get<string>(['jobspec', header.jobId, k])).value ?? '';
      const shards = new Map<number, StoredShard>();
      for await (const s of this.kv.list<StoredShard>({ prefix: ['shard', header.jobId] }, { batchSize: 1000 })) {
        shards.set(Number(s.key[2]), s.value);
      }
      yield { job: { ...header, spec: JSON.parse(text) }, shards };
    }
  }

  async hasJob(jobId: string): Promise<boolean> {
    return (await this.kv.get(['job', jobId])).versionstamp !== null;
  }

  async putCredibility(records: readonly (readonly [string, StoredCredibility])[]): Promise<void> {
    await this.#write(records.map(([id, r]) => [['cred', id], r] as const));
  }

  async *credibility(): AsyncIterable<[string, StoredCredibility]> {
    for await (const e of this.kv.list<StoredCredibility>({ prefix: ['cred'] }, { batchSize: 1000 })) yield [String(e.key[1]), e.value];
  }

  /** Sets keys in as few atomics as KV's limits allow. */
  async #write(entries: readonly (readonly [Deno.KvKey, unknown])[]): Promise<void> {
    let op = this.kv.atomic();
    let n = 0;
    let chars = 0;
    for (const [key, value] of entries) {
      const size = typeof value === 'string' ? value.length : JSON.stringify(value).length;
      if (n > 0 && (n >= MAX_MUTATIONS || chars + size > MAX_BATCH_CHARS)) {
        await commit(op);
        op = this.kv.atomic();
        n = 0;
        chars = 0;
      }
      op.set(key, value);
      n++;
      chars += size;
    }
    if (n > 0) await commit(op);
  }
}

async function commit(op: Deno.AtomicOperation): Promise<void> {
  const res = await op.commit();
  if (!res.ok) throw new Error('Cannot write the market state as a KV commit failed');
}
