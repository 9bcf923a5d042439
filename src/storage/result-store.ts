/**
 * A contributor's store of verified outputs (the browser side of the coordinator's exact-match result cache,
 * coordinator/market/result-cache.ts). Outputs are content-addressed by their SHA-256 and indexed by result
 * key (core/result-key.ts: kernel, input hash, layout), so a repeated shard is answered by reading them back
 * instead of running the kernel.
 *
 * Bounds: `maxBytes` and `maxEntries` (stored outputs), least recently used evicted first (_lru-eviction.ts);
 * at most MAX_KEYS_PER_OUTPUT result keys name one output. What is read back is checked against its hash and
 * its tensors' declared sizes: a record that fails (disk fault, a bug, someone writing to the database) is
 * deleted and reported missing, never served. Every output that leaves the store, evicted or corrupt, is passed
 * to `onEvict`, so the contributor can tell the coordinator to stop naming it as a holder.
 *
 * Its own database (`meshwork-results`), so its schema moves apart from the page's main one and can be dropped
 * whole. Metadata is kept apart from the bytes, so recording a use never rewrites a large blob.
 */
import type { DBSchema } from 'idb';
import { sharedOpener } from './shared-open.ts';
import { sha256Hex } from '../core/hash.ts';
import { MeshError } from '../protocol/errors.ts';
import { type TensorSpec, tensorBytes } from '../protocol/tensor.ts';
import { chooseEvictions, type ResultBounds } from './_lru-eviction.ts';

export type { ResultBounds } from './_lru-eviction.ts';

/** Name of the result store's IndexedDB database. */
export const RESULT_DB_NAME = 'meshwork-results';
/** Its schema version. */
export const RESULT_DB_VERSION = 1;
/** Result keys one stored output answers for, at most (the oldest key is forgotten past it). */
export const MAX_KEYS_PER_OUTPUT = 8;
/** The largest byte budget a store accepts: a few hundred MB at most. */
export const MAX_RESULT_BYTES = 512 * 1024 * 1024;
/** The largest number of outputs a store accepts. */
export const MAX_RESULT_ENTRIES = 100_000;
/** Default bounds of the app's contributor. */
export const DEFAULT_RESULT_BOUNDS: ResultBounds = { maxBytes: 256 * 1024 * 1024, maxEntries: 4096 };
/** Default bounds of the embed's contributor (a guest on someone else's page). */
export const EMBED_RESULT_BOUNDS: ResultBounds = { maxBytes: 32 * 1024 * 1024, maxEntries: 512 };

/** A stored output's bytes. */
interface OutputBytes {
  hash: string;
  bytes: ArrayBuffer;
}

/** A stored output's metadata: the result keys that name it, its layout, size and last use. */
interface OutputMeta {
  hash: string;
  keys: string[];
  outputs: TensorSpec[];
  size: number;
  lastUsed: number;
}

interface ResultDb extends DBSchema {
  bytes: { key: string; value: OutputBytes };
  meta: { key: string; value: OutputMeta; indexes: { keys: string; lastUsed: number } };
}

/** An output read back from the store, checked. */
export interface StoredOutput {
  outputHash: string;
  bytes: ArrayBuffer;
  outputs: TensorSpec[];
}

/** Options of a result store. */
export interface ResultStoreOptions extends Partial<ResultBounds> {
  /** Hashes of outputs that left the store (evicted to fit, or found corrupt and deleted). */
  onEvict?: (hashes: string[]) => void;
}

const openResultDb = sharedOpener<ResultDb>(RESULT_DB_NAME, RESULT_DB_VERSION, (db) => {
  db.createObjectStore('bytes', { keyPath: 'hash' });
  const meta = db.createObjectStore('meta', { keyPath: 'hash' });
  meta.createIndex('keys', 'keys', { multiEntry: true });
  meta.createIndex('lastUsed', 'lastUsed');
});

/** The store; instances share the database, each applies its own bounds when it writes. */
export class ResultStore {
  readonly bounds: ResultBounds;
  /** Records this instance found corrupt and deleted. */
  corruptEvicted = 0;
  readonly #onEvict: ((hashes: string[]) => void) | undefined;
  /** Last-use times handed out, strictly increasing, so two uses in one millisecond still order. */
  #clock = 0;

  constructor(opts: ResultStoreOptions = {}) {
    const maxBytes = opts.maxBytes ?? DEFAULT_RESULT_BOUNDS.maxBytes;
    const maxEntries = opts.maxEntries ?? DEFAULT_RESULT_BOUNDS.maxEntries;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_RESULT_BYTES) {
      throw new RangeError(`Cannot create a result store as 'maxBytes' must be an integer from 0 to ${MAX_RESULT_BYTES}: current value is ${maxBytes}`);
    }
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0 || maxEntries > MAX_RESULT_ENTRIES) {
      throw new RangeError(`Cannot create a result store as 'maxEntries' must be an integer from 0 to ${MAX_RESULT_ENTRIES}: current value is ${maxEntries}`);
    }
    this.bounds = { maxBytes, maxEntries };
    this.#onEvict = opts.onEvict;
  }

  /**
   * Keeps `bytes` (tensors `outputs`, packed) as the output of result key `key`, after checking that they hash to
   * `outputHash` (MeshError 'hash-mismatch' if not) and that the tensors account for every byte (RangeError),
   * then evicts beyond the bounds. Resolves false when the output alone exceeds the bounds and was not kept.
   */
  async put(key: string, outputHash: string, bytes: ArrayBuffer, outputs: readonly TensorSpec[]): Promise<boolean> {
    const want = outputs.reduce((n, t) => n + tensorBytes(t), 0);
    if (want !== bytes.byteLength) {
      throw new RangeError(`Cannot store an output as its tensors must take ${want} bytes: current length is ${bytes.byteLength}`);
    }
    const actual = await sha256Hex(bytes);
    if (actual !== outputHash) {
      throw new MeshError('hash-mismatch', `Cannot store an output as its bytes must hash to ${outputHash}: current hash is ${actual}`);
    }
    if (bytes.byteLength > this.bounds.maxBytes || this.bounds.maxEntries === 0) return false;
    const db = await openResultDb();
    const tx = db.transaction(['bytes', 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    // A key names one output: a key re-pointed at this output leaves the one it named before.
    const orphaned: string[] = [];
    const before = await meta.index('keys').get(key);
    if (before && before.hash !== outputHash) {
      before.keys = before.keys.filter((k) => k !== key);
      if (before.keys.length > 0) await meta.put(before);
      else {
        // Nothing names it any more: it could only take space.
        await Promise.all([meta.delete(before.hash), tx.objectStore('bytes').delete(before.hash)]);
        orphaned.push(before.hash);
      }
    }
    const held = await meta.get(outputHash);
    const keys = [key, ...(held?.keys ?? []).filter((k) => k !== key)].slice(0, MAX_KEYS_PER_OUTPUT);
    await meta.put({ hash: outputHash, keys, outputs: outputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: [...t.dims] })), size: bytes.byteLength, lastUsed: this.#now() });
    if ((await tx.objectStore('bytes').getKey(outputHash)) === undefined) await tx.objectStore('bytes').put({ hash: outputHash, bytes });
    await tx.done;
    if (orphaned.length > 0) this.#onEvict?.(orphaned);
    await this.#evict(outputHash);
    return true;
  }

  /**
   * The output stored for result key `key`, checked against its hash and layout, and marked used; undefined when
   * none is stored, or when the record was corrupt (it is then deleted and reported through `onEvict`).
   */
  async get(key: string): Promise<StoredOutput | undefined> {
    const db = await openResultDb();
    const meta = await db.getFromIndex('meta', 'keys', key);
    if (!meta) return undefined;
    const record = await db.get('bytes', meta.hash);
    const size = meta.outputs.reduce((n, t) => n + tensorBytes(t), 0);
    if (!record || record.bytes.byteLength !== size || (await sha256Hex(record.bytes)) !== meta.hash) {
      await this.delete(meta.hash);
      this.corruptEvicted++;
      console.warn(`meshwork: stored output ${meta.hash} was missing or corrupt and was deleted; the shard will be computed again`);
      this.#onEvict?.([meta.hash]);
      return undefined;
    }
    const tx = db.transaction('meta', 'readwrite');
    const fresh = await tx.store.get(meta.hash);
    if (fresh) await tx.store.put({ ...fresh, lastUsed: this.#now() });
    await tx.done;
    return { outputHash: meta.hash, bytes: record.bytes, outputs: meta.outputs };
  }

  /** Whether an output is stored for result key `key` (unchecked: `get` checks). */
  async has(key: string): Promise<boolean> {
    const db = await openResultDb();
    return (await db.getKeyFromIndex('meta', 'keys', key)) !== undefined;
  }

  /** Deletes the output `hash` (bytes and metadata). */
  async delete(hash: string): Promise<void> {
    const db = await openResultDb();
    const tx = db.transaction(['bytes', 'meta'], 'readwrite');
    await Promise.all([tx.objectStore('bytes').delete(hash), tx.objectStore('meta').delete(hash), tx.done]);
  }

  /** Outputs stored and their total bytes. */
  async usage(): Promise<{ entries: number; bytes: number }> {
    const db = await openResultDb();
    const all = await db.getAll('meta');
    return { entries: all.length, bytes: all.reduce((n, m) => n + m.size, 0) };
  }

  /** Deletes every stored output (reported through `onEvict`). */
  async clear(): Promise<void> {
    const db = await openResultDb();
    const hashes = await db.getAllKeys('meta');
    const tx = db.transaction(['bytes', 'meta'], 'readwrite');
    await Promise.all([tx.objectStore('bytes').clear(), tx.objectStore('meta').clear(), tx.done]);
    if (hashes.length > 0) this.#onEvict?.(hashes);
  }

  /** Evicts least-recently-used outputs beyond the bounds, never `keep`; reports them through `onEvict`. */
  async #evict(keep: string): Promise<void> {
    const db = await openResultDb();
    const tx = db.transaction(['bytes', 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    const gone = chooseEvictions(await meta.getAll(), this.bounds, keep);
    await Promise.all([...gone.flatMap((h) => [meta.delete(h), tx.objectStore('bytes').delete(h)]), tx.done]);
    if (gone.length > 0) this.#onEvict?.(gone);
  }

  #now(): number {
    this.#clock = Math.max(this.#clock + 1, Date.now());
    return this.#clock;
  }
}
