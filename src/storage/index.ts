/** Browser storage: identity keys, content-addressed model cache and local receipts (IndexedDB `meshwork`). */
export { DB_NAME, DB_VERSION, type MeshworkDb, type ModelRecord, openMeshDb, type ReceiptRecord } from './db.ts';
export { loadIdentity } from './identity-store.ts';
export { type CachedModel, DEFAULT_MODEL_BUDGET, ModelCache } from './model-cache.ts';
export { listReceipts, recordReceipt } from './receipt-log.ts';
