/**
 * Which contributors hold which verified outputs: an exact-match result cache keyed by (kernel, shard inputs
 * and output layout). Only outputs two independent runs agreed on are recorded, with the contributors whose runs
 * agreed as holders (they keep the output in their own bounded cache; see src/storage/result-store.ts). A later
 * shard with the same key is offered to a holder at the cache rate (core/latency.ts), and its claim must name
 * the verified hash.
 *
 * Bounds: MAX_ENTRIES keys (least recently used dropped first), MAX_HOLDERS holders per key (oldest dropped);
 * the index by output hash holds only kept keys. A holder leaves an entry when it fails to answer from it, names
 * another output, or reports that it evicted the output (`evicted` frame).
 */
import { kernelKey, shardKey } from '../../src/core/result-key.ts';

export { kernelKey, shardKey };

/** Keys kept at once. */
export const MAX_ENTRIES = 50_000;
/** Holders kept per key. */
export const MAX_HOLDERS = 4;

/** A verified output and who holds it. */
export interface CacheEntry {
  outputHash: string;
  holders: string[];
}

/** The coordinator's index of verified outputs. */
export class ResultCache {
  readonly #entries = new Map<string, CacheEntry>();
  /** Keys by output hash, so a holder's report that it evicted an output reaches every key naming it. */
  readonly #byOutput = new Map<string, Set<string>>();

  constructor(readonly maxEntries = MAX_ENTRIES, readonly maxHolders = MAX_HOLDERS) {}

  /** Records that `holders` produced the verified `outputHash` for `key` (a different hash replaces the entry). */
  record(key: string, outputHash: string, holders: readonly string[]): void {
    let e = this.#entries.get(key);
    if (!e || e.outputHash !== outputHash) {
      if (e) this.#unindex(key, e.outputHash);
      e = { outputHash, holders: [] };
    }
    this.#entries.delete(key);
    for (const h of holders) {
      const at = e.holders.indexOf(h);
      if (at >= 0) e.holders.splice(at, 1);
      e.holders.push(h);
      if (e.holders.length > this.maxHolders) e.holders.shift();
    }
    this.#entries.set(key, e);
    let keys = this.#byOutput.get(outputHash);
    if (!keys) this.#byOutput.set(outputHash, (keys = new Set()));
    keys.add(key);
    if (this.#entries.size > this.maxEntries) this.#remove(this.#entries.keys().next().value!);
  }

  /** The verified output of `key`, if some contributor holds it (refreshed as recently used). */
  lookup(key: string): CacheEntry | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e;
  }

  /** `holder` no longer answers for `key` (it failed or claimed another hash). */
  drop(key: string, holder: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    e.holders = e.holders.filter((h) => h !== holder);
    if (e.holders.length === 0) this.#remove(key);
  }

  /**
   * `holder` says it no longer keeps `outputHash` (evicted or found corrupt): it stops being a holder of every
   * key with that output. Returns how many keys it held it for (a holder can only drop itself).
   */
  forgetHeld(holder: string, outputHash: string): number {
    let n = 0;
    for (const key of [...(this.#byOutput.get(outputHash) ?? [])]) {
      if (!this.#entries.get(key)?.holders.includes(holder)) continue;
      this.drop(key, holder);
      n++;
    }
    return n;
  }

  /** Keys kept, least recently used first (tests). */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Keys kept (tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Distinct outputs indexed (tests: it never outgrows the keys). */
  get outputs(): number {
    return this.#byOutput.size;
  }

  #remove(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#unindex(key, e.outputHash);
  }

  #unindex(key: string, outputHash: string): void {
    const keys = this.#byOutput.get(outputHash);
    keys?.delete(key);
    if (keys?.size === 0) this.#byOutput.delete(outputHash);
  }
}
