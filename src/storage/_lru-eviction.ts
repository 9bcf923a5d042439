/**
 * Which stored entries a store evicts to fit its bounds: least recently used first, never the one being kept.
 * Pure, so the rule is tested without a browser (result-store.ts and model-cache.ts apply it).
 */

/** What eviction needs to know of a stored entry. */
export interface EvictionEntry {
  hash: string;
  size: number;
  lastUsed: number;
}

/** A store's bounds: total bytes and number of stored entries. */
export interface ResultBounds {
  maxBytes: number;
  maxEntries: number;
}

/**
 * Hashes to evict from `entries` so that at most `bounds.maxEntries` remain and their sizes add up to at most
 * `bounds.maxBytes`: oldest `lastUsed` first (ties by hash, so the choice is stable), skipping `keep`.
 */
export function chooseEvictions(entries: readonly EvictionEntry[], bounds: ResultBounds, keep?: string): string[] {
  let bytes = entries.reduce((n, e) => n + e.size, 0);
  let count = entries.length;
  if (bytes <= bounds.maxBytes && count <= bounds.maxEntries) return [];
  const order = [...entries].sort((a, b) => a.lastUsed - b.lastUsed || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const out: string[] = [];
  for (const e of order) {
    if (bytes <= bounds.maxBytes && count <= bounds.maxEntries) break;
    if (e.hash === keep) continue;
    out.push(e.hash);
    bytes -= e.size;
    count--;
  }
  return out;
}
