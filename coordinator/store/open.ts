/**
 * Opens the coordinator's store from its options: the embedded Deno KV file (`--store kv`, the default; the
 * ledger and the market's state in one KV database under `--data`), or, for a cluster, PostgreSQL
 * (`--store postgres://...`).
 */
import { DEFAULT_RETRY, KvLedger } from '../ledger/mod.ts';
import type { AuditableLedger } from '../ledger/types.ts';
import { KvMarketStore } from './kv/market-store.ts';
import type { MarketStore } from './types.ts';

/** An open store. */
export interface OpenStore {
  ledger: AuditableLedger;
  market: MarketStore;
  close(): void;
}

/** Opens the embedded store: one Deno KV database at `path` (':memory:' for a throwaway one). */
export async function openKvStore(path: string, starterCredits: number): Promise<OpenStore> {
  if (path !== ':memory:') {
    const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  }
  const kv = await Deno.openKv(path);
  return { ledger: new KvLedger(kv, starterCredits, DEFAULT_RETRY), market: new KvMarketStore(kv), close: () => kv.close() };
}
