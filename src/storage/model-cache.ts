/**
 * Content-addressed model cache in IndexedDB. A model is stored under the SHA-256 of its bytes, so a peer can
 * tell a client "I already have it" by hash alone. Beyond a byte budget the least-recently-used models go.
 * What is read back is checked against its key (`get`): a record that no longer hashes to it (disk fault, a bug,
 * someone writing to the database) is deleted and reported missing, so the peer asks for the model again instead
 * of failing every lease that uses it.
 */
import { sha256Hex } from '../core/hash.ts';
import { MeshError } from '../protocol/errors.ts';
import { chooseEvictions } from './_lru-eviction.ts';
import { openMeshDb } from './db.ts';

/** Default byte budget of the model cache: 1 GiB. */
export const DEFAULT_MODEL_BUDGET = 1024 * 1024 * 1024;

/** A model read back from the cache. */
export interface CachedModel {
  hash: string;
  bytes: ArrayBuffer;
  name?: string;
}

/** The model cache; one instance per budget is enough, all share the database. */
export class ModelCache {
  readonly budget: number;

  constructor(opts: { budget?: number } = {}) {
    const budget = opts.budget ?? DEFAULT_MODEL_BUDGET;
    if (!Number.isSafeInteger(budget) || budget < 0) {
      throw new RangeError(`Cannot create a model cache as 'budget' must be a non-negative integer: current value is ${budget}`);
    }
    this.budget = budget;
  }

  /** Whether a model with this hash is stored. */
  async has(hash: string): Promise<boolean> {
    const db = await openMeshDb();
    return (await db.getKey('modelAccess', hash)) !== undefined;
  }

  /** Records found corrupt and deleted by this instance (`get`, `evictCorrupt`). */
  corruptEvicted = 0;

  /**
   * The stored model with this hash (marking it used), or undefined: also when its bytes no longer hash to
   * `hash`, in which case the record is deleted first.
   */
  async get(hash: string): Promise<CachedModel | undefined> {
    const db = await openMeshDb();
    const record = await db.get('models', hash);
    if (!record) return undefined;
    if ((await sha256Hex(record.bytes)) !== hash) {
      await this.#dropCorrupt(hash);
      return undefined;
    }
    await db.put('modelAccess', { hash, size: record.size, lastUsed: Date.now() });
    return record.name === undefined ? { hash, bytes: record.bytes } : { hash, bytes: record.bytes, name: record.name };
  }

  /**
   * Stores model bytes under `hash` after checking that they hash to it (MeshError 'hash-mismatch' if not),
   * then evicts least-recently-used models beyond the budget. Resolves false when the model alone is larger
   * than the budget and so was not kept.
   */
  async put(hash: string, bytes: ArrayBuffer, name?: string): Promise<boolean> {
    const actual = await sha256Hex(bytes);
    if (actual !== hash) {
      throw new MeshError('hash-mismatch', `Cannot cache model as its bytes must hash to ${hash}: current hash is ${actual}`);
    }
    if (bytes.byteLength > this.budget) return false;
    const db = await openMeshDb();
    const now = Date.now();
    const tx = db.transaction(['models', 'modelAccess'], 'readwrite');
    const record = { hash, bytes, size: bytes.byteLength, storedAt: now, ...(name === undefined ? {} : { name }) };
    await Promise.all([
      tx.objectStore('models').put(record),
      tx.objectStore('modelAccess').put({ hash, size: bytes.byteLength, lastUsed: now }),
      tx.done,
    ]);
    await this.evict(hash);
    return true;
  }

  /**
   * Deletes the model `hash` if its stored bytes no longer hash to it (a worker reported 'hash-mismatch' for
   * bytes read from here); resolves whether it was deleted.
   */
  async evictCorrupt(hash: string): Promise<boolean> {
    const db = await openMeshDb();
    const record = await db.get('models', hash);
    if (!record) {
      // The access entry alone would make has() answer yes for bytes that are not there.
      await this.delete(hash);
      return false;
    }
    if ((await sha256Hex(record.bytes)) === hash) return false;
    await this.#dropCorrupt(hash);
    return true;
  }

  async #dropCorrupt(hash: string): Promise<void> {
    await this.delete(hash);
    this.corruptEvicted++;
    console.warn(`meshwork: model ${hash} was corrupt in the model cache and was deleted; it will be fetched again`);
  }

  /** Deletes one model. */
  async delete(hash: string): Promise<void> {
    const db = await openMeshDb();
    const tx = db.transaction(['models', 'modelAccess'], 'readwrite');
    await Promise.all([tx.objectStore('models').delete(hash), tx.objectStore('modelAccess').delete(hash), tx.done]);
  }

  /** Total bytes of stored models. */
  async size(): Promise<number> {
    const db = await openMeshDb();
    return (await db.getAll('modelAccess')).reduce((n, r) => n + r.size, 0);
  }

  /** Removes least-recently-used models until the total fits the budget, never the one just stored. */
  private async evict(keep: string): Promise<void> {
    const db = await openMeshDb();
    const tx = db.transaction(['models', 'modelAccess'], 'readwrite');
    const access = tx.objectStore('modelAccess');
    const gone = chooseEvictions(await access.getAll(), { maxBytes: this.budget, maxEntries: Infinity }, keep);
    await Promise.all([...gone.flatMap((h) => [access.delete(h), tx.objectStore('models').delete(h)]), tx.done]);
  }
}
