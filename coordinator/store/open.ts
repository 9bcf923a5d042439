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
  /** Closes the store (for PostgreSQL, once running queries finished). */
  close(): Promise<void>;
}

/**
 * Opens the store a `--store` option names: `kv` opens the Deno KV database at `dataPath` (`openKvStore`);
 * a `postgres://` or `postgresql://` URL opens the PostgreSQL ledger and market store on that database,
 * migrating it first (`dataPath` is then unused). Throws RangeError on any other spec.
 */
export async function openStore(spec: string, dataPath: string, starterCredits: number): Promise<OpenStore> {
  if (spec === 'kv') return await openKvStore(dataPath, starterCredits);
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) return await openPgStore(spec, starterCredits);
  throw new RangeError(`Cannot open the store as its spec must be 'kv' or a postgres:// URL: current value is '${spec.split('://')[0]}'`);
}

/** Opens the embedded store: one Deno KV database at `path` (':memory:' for a throwaway one). */
export async function openKvStore(path: string, starterCredits: number): Promise<OpenStore> {
  if (path !== ':memory:') {
    const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  }
  const kv = await Deno.openKv(path);
  const close = (): Promise<void> => {
    kv.close();
    return Promise.resolve();
  };
  return { ledger: new KvLedger(kv, starterCredits, DEFAULT_RETRY), market: new KvMarketStore(kv), close };
}

/** Opens the ledger and the market store on one PostgreSQL database, each with its own pool. */
async function openPgStore(url: string, starterCredits: number): Promise<OpenStore> {
  // Loaded on demand, so a coordinator on Deno KV never loads the PostgreSQL client.
  const { openPgLedger, openPgMarketStore } = await import('./pg/mod.ts');
  const ledger = await openPgLedger({ url, starterCredits });
  try {
    const market = await openPgMarketStore({ url });
    return { ledger, market, close: async () => void (await Promise.all([ledger.close(), market.close()])) };
  } catch (err) {
    await ledger.close();
    throw err;
  }
}
