/**
 * Which contributors hold which verified outputs: an exact-match result cache keyed by (kernel, shard inputs
 * and output layout). Only outputs two independent runs agreed on are recorded, with the contributors whose runs
 * agreed as holders (they keep the output in their own bounded cache; see src/storage/result-store.ts). A later
 * shard with the same key is offered to a holder at the cache rate (core/latency.ts), and its claim must name
 * the verified hash.
 *
 * Bounds: MAX_ENTRIES keys (least recently used dropped first), MAX_HOLDERS holders per key (oldest dropped).
 */
import { canonicalJson } from '../../src/protocol/coordinator.ts';
import type { KernelSpec, ShardSpec } from '../../src/protocol/kernel.ts';
import { sha256Hex } from '../../src/core/hash.ts';

/** Keys kept at once. */
export const MAX_ENTRIES = 50_000;
/** Holders kept per key. */
export const MAX_HOLDERS = 4;

/** A verified output and who holds it. */
export interface CacheEntry {
  outputHash: string;
  holders: string[];
}

/** The content key of a kernel: SHA-256 of its canonical JSON. */
export function kernelKey(kernel: KernelSpec): Promise<string> {
  return sha256Hex(new TextEncoder().encode(canonicalJson(kernel)));
}

/** The cache key of a shard of a kernel keyed `kernel`: the inputs' hash and what the outputs must be. */
export function shardKey(kernel: string, spec: ShardSpec): string {
  return `${kernel}:${spec.inputHash}:${canonicalJson({ inputs: spec.inputs, outputs: spec.outputs, dispatch: spec.dispatch })}`;
}

/** The coordinator's index of verified outputs. */
export class ResultCache {
  readonly #entries = new Map<string, CacheEntry>();

  constructor(readonly maxEntries = MAX_ENTRIES, readonly maxHolders = MAX_HOLDERS) {}

  /** Records that `holders` produced the verified `outputHash` for `key` (a different hash replaces the entry). */
  record(key: string, outputHash: string, holders: readonly string[]): void {
    let e = this.#entries.get(key);
    if (!e || e.outputHash !== outputHash) e = { outputHash, holders: [] };
    this.#entries.delete(key);
    for (const h of holders) {
      const at = e.holders.indexOf(h);
      if (at >= 0) e.holders.splice(at, 1);
      e.holders.push(h);
      if (e.holders.length > this.maxHolders) e.holders.shift();
    }
    this.#entries.set(key, e);
    if (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
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
    if (e.holders.length === 0) this.#entries.delete(key);
  }

  /** Keys kept, least recently used first (tests). */
  keys(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /** Keys kept (tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }
}
