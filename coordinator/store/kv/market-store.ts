/**
 * The market's state on Deno KV (the embedded engine; the same KV file as the ledger). Keys:
 *
 * | key | value |
 * |---|---|
 * | `['job', jobId]` | the job's header (StoredJob without its spec) and how many spec chunks it has |
 * | `['jobspec', jobId, k]` | the spec's JSON text, in chunks under KV's 64 KiB value limit |
 * | `['shard', jobId, index]` | a shard's state, once it changed |
 * | `['cred', peerId]` | a contributor's track record |
 * | `['instance', id]`, `['contributor', peerId]` | the cluster's rows (_cluster.ts) |
 *
 * A job's spec chunks are written before its header, so a header always finds its whole spec; writes are
 * split into atomics under KV's limits (_batch.ts).
 *
 * Owners: only `putJob`, `moveJob` and `endJob` write a header, so its versionstamp changes exactly when the
 * job changes hands or ends. `putShards` reads the header, compares its owner and makes every atomic it commits
 * check that versionstamp: a write racing a move or an end commits nothing after it. (A write of more than
 * MAX_MUTATIONS shards spans atomics; those committed before the move stand, as if an earlier call had made them.)
 * `moveJob` is a compare-and-set of the header on its versionstamp, retried when anything else changed it.
 */
import { checkLimit, oldestFirst } from '../_checks.ts';
import type { JobOwner, MarketStore, StoredContributor, StoredCredibility, StoredInstance, StoredJob, StoredShard } from '../types.ts';
import { deletePrefix, getAll, setBatched } from './_batch.ts';
import { KvClusterRows } from './_cluster.ts';

const CHUNK_CHARS = 60_000;

interface Header extends Omit<StoredJob, 'spec'> {
  specChunks: number;
}

const K = {
  job: (jobId: string): Deno.KvKey => ['job', jobId],
  spec: (jobId: string, k: number): Deno.KvKey => ['jobspec', jobId, k],
  shard: (jobId: string, index: number): Deno.KvKey => ['shard', jobId, index],
  cred: (peerId: string): Deno.KvKey => ['cred', peerId],
};

/** The market's state in a Deno KV database. */
export class KvMarketStore implements MarketStore {
  readonly #cluster: KvClusterRows;

  constructor(private readonly kv: Deno.Kv) {
    this.#cluster = new KvClusterRows(kv);
  }

  async putJob(job: StoredJob): Promise<void> {
    const text = JSON.stringify(job.spec);
    const chunks: string[] = [];
    for (let at = 0; at < text.length; at += CHUNK_CHARS) chunks.push(text.slice(at, at + CHUNK_CHARS));
    await setBatched(this.kv, chunks.map((c, k) => [K.spec(job.jobId, k), c] as const));
    const { spec: _spec, ...rest } = job;
    await this.kv.set(K.job(job.jobId), { ...rest, specChunks: chunks.length } satisfies Header);
  }

  async putShards(jobId: string, shards: readonly (readonly [number, StoredShard])[], owner?: string): Promise<boolean> {
    const head = await this.kv.get<Header>(K.job(jobId));
    if (head.value === null || (owner !== undefined && head.value.owner !== owner)) return false;
    return await setBatched(this.kv, shards.map(([i, s]) => [K.shard(jobId, i), s] as const), [head]);
  }

  async loadJob(jobId: string): Promise<{ job: StoredJob; shards: Map<number, StoredShard> } | undefined> {
    const head = (await this.kv.get<Header>(K.job(jobId))).value;
    return head === null ? undefined : await this.#assemble(head);
  }

  async ownerOf(jobId: string): Promise<string | undefined> {
    return (await this.kv.get<Header>(K.job(jobId))).value?.owner;
  }

  async moveJob(jobId: string, from: string, to: string): Promise<boolean> {
    for (;;) {
      const head = await this.kv.get<Header>(K.job(jobId));
      if (head.value === null || head.value.owner !== from) return false;
      const res = await this.kv.atomic().check(head).set(head.key, { ...head.value, owner: to } satisfies Header).commit();
      if (res.ok) return true;
    }
  }

  async jobsOfClient(client: string, limit: number): Promise<JobOwner[]> {
    checkLimit('list the jobs of a client', limit);
    return (await this.#headers((h) => h.client === client)).slice(0, limit).map(jobOwner);
  }

  async orphans(live: readonly string[], limit: number): Promise<JobOwner[]> {
    checkLimit('list orphaned jobs', limit);
    const alive = new Set(live);
    return (await this.#headers((h) => !alive.has(h.owner))).slice(0, limit).map(jobOwner);
  }

  async endJob(jobId: string): Promise<void> {
    // The header goes first: a putShards checking it commits nothing after this, so no shard outlives the job.
    await this.kv.delete(K.job(jobId));
    await deletePrefix(this.kv, ['jobspec', jobId]);
    await deletePrefix(this.kv, ['shard', jobId]);
  }

  async *runningJobs(owner?: string): AsyncIterable<{ job: StoredJob; shards: Map<number, StoredShard> }> {
    for await (const e of this.kv.list<Header>({ prefix: ['job'] })) {
      if (owner !== undefined && e.value.owner !== owner) continue;
      yield await this.#assemble(e.value);
    }
  }

  async hasJob(jobId: string): Promise<boolean> {
    return (await this.kv.get(K.job(jobId))).versionstamp !== null;
  }

  async putCredibility(records: readonly (readonly [string, StoredCredibility])[]): Promise<void> {
    await setBatched(this.kv, records.map(([id, r]) => [K.cred(id), r] as const));
  }

  async *credibility(): AsyncIterable<[string, StoredCredibility]> {
    for await (const e of this.kv.list<StoredCredibility>({ prefix: ['cred'] }, { batchSize: 1000 })) yield [String(e.key[1]), e.value];
  }

  async credibilityOf(peerIds: readonly string[]): Promise<Map<string, StoredCredibility>> {
    const found = new Map<string, StoredCredibility>();
    for (const e of await getAll<StoredCredibility>(this.kv, peerIds.map(K.cred))) {
      if (e.value !== null) found.set(String(e.key[1]), e.value);
    }
    return found;
  }

  heartbeat(id: string, url: string): Promise<void> {
    return this.#cluster.heartbeat(id, url);
  }

  instances(): Promise<StoredInstance[]> {
    return this.#cluster.instances();
  }

  forgetInstance(id: string): Promise<void> {
    return this.#cluster.forgetInstance(id);
  }

  putContributors(rows: readonly StoredContributor[]): Promise<void> {
    return this.#cluster.putContributors(rows);
  }

  dropContributors(home: string, peerIds: readonly string[]): Promise<void> {
    return this.#cluster.dropContributors(home, peerIds);
  }

  contributors(): AsyncIterable<StoredContributor> {
    return this.#cluster.contributors();
  }

  /** Running jobs' headers that pass `keep`, oldest first (a scan: an embedded store runs few jobs). */
  async #headers(keep: (h: Header) => boolean): Promise<Header[]> {
    const out: Header[] = [];
    for await (const e of this.kv.list<Header>({ prefix: ['job'] })) if (keep(e.value)) out.push(e.value);
    return out.sort(oldestFirst);
  }

  /** A job with its spec and every shard written. */
  async #assemble(head: Header): Promise<{ job: StoredJob; shards: Map<number, StoredShard> }> {
    const { specChunks, ...header } = head;
    const keys = Array.from({ length: specChunks }, (_, k) => K.spec(header.jobId, k));
    const text = (await getAll<string>(this.kv, keys)).map((e) => e.value ?? '').join('');
    const shards = new Map<number, StoredShard>();
    for await (const s of this.kv.list<StoredShard>({ prefix: ['shard', header.jobId] }, { batchSize: 1000 })) {
      shards.set(Number(s.key[2]), s.value);
    }
    return { job: { ...header, spec: JSON.parse(text) }, shards };
  }
}

function jobOwner(h: Header): JobOwner {
  return { jobId: h.jobId, client: h.client, owner: h.owner };
}
