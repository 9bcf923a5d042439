/**
 * Browser storage: identity keys, content-addressed model cache and local receipts (IndexedDB `meshwork`), and the
 * contributor's store of verified outputs (`meshwork-results`).
 */
export { DB_NAME, DB_VERSION, type MeshworkDb, type ModelRecord, openMeshDb, type ReceiptRecord } from './db.ts';
export { loadIdentity } from './identity-store.ts';
export { type CachedModel, DEFAULT_MODEL_BUDGET, ModelCache } from './model-cache.ts';
export { listReceipts, recordReceipt } from './receipt-log.ts';
export {
  DEFAULT_RESULT_BOUNDS,
  EMBED_RESULT_BOUNDS,
  MAX_KEYS_PER_OUTPUT,
  MAX_RESULT_BYTES,
  MAX_RESULT_ENTRIES,
  RESULT_DB_NAME,
  type ResultBounds,
  ResultStore,
  type ResultStoreOptions,
  type StoredOutput,
} from './result-store.ts';
