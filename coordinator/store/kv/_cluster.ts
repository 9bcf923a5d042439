/**
 * The cluster's rows on Deno KV: instances' heartbeats and the contributor registry. An embedded store has one
 * instance, but the rows behave as on PostgreSQL so that the market code above them runs unchanged. Keys:
 *
 * | key | value |
 * |---|---|
 * | `['instance', id]` | `{ url, seenAt }`: its public URL and its last heartbeat (epoch ms, this process's clock) |
 * | `['contributor', peerId]` | the StoredContributor row |
 *
 * Rows dropped "only while their home is still X" are deleted by an atomic that checks the versionstamp read,
 * so a registration elsewhere that lands in between is never deleted; the read is retried instead.
 */
import type { StoredContributor, StoredInstance } from '../types.ts';
import { getAll, MAX_GET_MANY, setBatched } from './_batch.ts';

interface InstanceRow {
  url: string;
  seenAt: number;
}

const K = {
  instance: (id: string): Deno.KvKey => ['instance', id],
  contributor: (peerId: string): Deno.KvKey => ['contributor', peerId],
};

/** Instances and contributors of the cluster, in a Deno KV database. */
export class KvClusterRows {
  constructor(private readonly kv: Deno.Kv) {}

  async heartbeat(id: string, url: string): Promise<void> {
    await this.kv.set(K.instance(id), { url, seenAt: Date.now() } satisfies InstanceRow);
  }

  async instances(): Promise<StoredInstance[]> {
    const out: StoredInstance[] = [];
    for await (const e of this.kv.list<InstanceRow>({ prefix: ['instance'] })) {
      out.push({ id: String(e.key[1]), url: e.value.url, ageMs: Math.max(0, Date.now() - e.value.seenAt) });
    }
    return out;
  }

  async forgetInstance(id: string): Promise<void> {
    const keys: Deno.KvKey[] = [];
    for await (const e of this.kv.list<StoredContributor>({ prefix: ['contributor'] }, { batchSize: 1000 })) {
      if (e.value.home === id) keys.push(e.key);
    }
    await this.#dropAt(id, keys);
    await this.kv.delete(K.instance(id));
  }

  async putContributors(rows: readonly StoredContributor[]): Promise<void> {
    await setBatched(this.kv, rows.map((r) => [K.contributor(r.peerId), r] as const));
  }

  async dropContributors(home: string, peerIds: readonly string[]): Promise<void> {
    await this.#dropAt(home, peerIds.map(K.contributor));
  }

  async *contributors(): AsyncIterable<StoredContributor> {
    for await (const e of this.kv.list<StoredContributor>({ prefix: ['contributor'] }, { batchSize: 1000 })) yield e.value;
  }

  /** Deletes the rows at `keys` whose home is `home`, each only if unchanged since it was read. */
  async #dropAt(home: string, keys: readonly Deno.KvKey[]): Promise<void> {
    for (let at = 0; at < keys.length; at += MAX_GET_MANY) {
      const group = keys.slice(at, at + MAX_GET_MANY);
      for (;;) {
        const rows = (await getAll<StoredContributor>(this.kv, group)).filter((e) => e.value?.home === home);
        if (rows.length === 0) break;
        const op = this.kv.atomic().check(...rows);
        for (const e of rows) op.delete(e.key);
        if ((await op.commit()).ok) break;
      }
    }
  }
}
