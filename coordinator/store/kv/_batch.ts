/**
 * Writes to Deno KV that exceed one atomic operation's limits, split into as few atomics as those limits allow
 * (MAX_MUTATIONS mutations, MAX_BATCH_CHARS characters of values, with margin under KV's own).
 */

/** Mutations per atomic (KV allows 1,000). */
export const MAX_MUTATIONS = 500;
/** Characters of values per atomic (KV allows 800 KiB of mutations). */
export const MAX_BATCH_CHARS = 500_000;
/** Keys per `getMany` (KV's limit). */
export const MAX_GET_MANY = 10;

/**
 * Sets keys in as few atomics as KV's limits allow, each guarded by `checks`. Returns false as soon as a check
 * fails: that atomic and those after it write nothing, the ones before it stand (committed while the checks held).
 */
export async function setBatched(kv: Deno.Kv, entries: readonly (readonly [Deno.KvKey, unknown])[], checks: readonly Deno.AtomicCheck[] = []): Promise<boolean> {
  let op: Deno.AtomicOperation | undefined;
  let n = 0;
  let chars = 0;
  for (const [key, value] of entries) {
    const size = typeof value === 'string' ? value.length : JSON.stringify(value).length;
    if (op && (n >= MAX_MUTATIONS || chars + size > MAX_BATCH_CHARS)) {
      if (!(await commit(op, checks))) return false;
      op = undefined;
    }
    if (!op) {
      op = kv.atomic().check(...checks);
      n = 0;
      chars = 0;
    }
    op.set(key, value);
    n++;
    chars += size;
  }
  return op ? await commit(op, checks) : true;
}

/** Deletes every key under `prefix`, MAX_MUTATIONS per atomic. */
export async function deletePrefix(kv: Deno.Kv, prefix: Deno.KvKey): Promise<void> {
  let op = kv.atomic();
  let n = 0;
  for await (const e of kv.list({ prefix }, { batchSize: MAX_MUTATIONS })) {
    op.delete(e.key);
    if (++n % MAX_MUTATIONS === 0) {
      await commit(op, []);
      op = kv.atomic();
    }
  }
  if (n % MAX_MUTATIONS !== 0) await commit(op, []);
}

/** Reads keys in groups of MAX_GET_MANY. */
export async function getAll<T>(kv: Deno.Kv, keys: readonly Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
  const groups: Promise<Deno.KvEntryMaybe<T>[]>[] = [];
  for (let at = 0; at < keys.length; at += MAX_GET_MANY) groups.push(kv.getMany<T[]>(keys.slice(at, at + MAX_GET_MANY)));
  return (await Promise.all(groups)).flat();
}

/** Commits `op`; false when one of `checks` failed, throws when KV refused it for another reason. */
async function commit(op: Deno.AtomicOperation, checks: readonly Deno.AtomicCheck[]): Promise<boolean> {
  const res = await op.commit();
  if (res.ok) return true;
  if (checks.length > 0) return false;
  throw new Error('Cannot write the market state as a KV commit failed');
}
