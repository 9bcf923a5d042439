import { marketStoreSuite } from '../market-store-suite.ts';
import { KvMarketStore } from './market-store.ts';

marketStoreSuite('Deno KV', async () => {
  const kv = await Deno.openKv(':memory:');
  return { store: new KvMarketStore(kv), close: () => kv.close() };
});
