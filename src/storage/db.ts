/**
 * The page's IndexedDB schema (database `meshwork`, version 1). Stores:
 * - `identity`: Ed25519 key pairs by slot name (the private key is non-extractable; CryptoKeyPair is
 *   structured-cloneable, so IndexedDB keeps it without ever exposing the key bytes);
 * - `models`: model bytes addressed by SHA-256 hex;
 * - `modelAccess`: size and last use per model, kept apart from the bytes so recording a use never rewrites
 *   a large blob, indexed by `lastUsed` for least-recently-used eviction;
 * - `receipts`: local copy of receipts this peer signed (as client) or was paid by (as contributor).
 */
import type { DBSchema } from 'idb';
import { sharedOpener } from './shared-open.ts';
import type { Receipt, ResultClaim } from '../protocol/coordinator.ts';

/** A cached model's bytes. */
export interface ModelRecord {
  hash: string;
  bytes: ArrayBuffer;
  size: number;
  name?: string;
  storedAt: number;
}

/** Bookkeeping for LRU eviction. */
export interface ModelAccessRecord {
  hash: string;
  size: number;
  lastUsed: number;
}

/** A receipt or result claim kept locally, keyed by [kind, lease id]. */
export interface ReceiptRecord {
  leaseId: string;
  jobId: string;
  /** 'paid': a receipt this client signed; 'claimed': a result this contributor claimed; 'credited': paid to us. */
  kind: 'paid' | 'claimed' | 'credited';
  receipt?: Receipt;
  claim?: ResultClaim;
  signature?: string;
  amount?: number;
  at: number;
}

/** Typed schema of the `meshwork` database. */
export interface MeshworkDb extends DBSchema {
  identity: { key: string; value: CryptoKeyPair };
  models: { key: string; value: ModelRecord };
  modelAccess: { key: string; value: ModelAccessRecord; indexes: { lastUsed: number } };
  receipts: { key: [string, string]; value: ReceiptRecord; indexes: { jobId: string } };
}

/** Name of the IndexedDB database. */
export const DB_NAME = 'meshwork';
/** Schema version. */
export const DB_VERSION = 1;

/** Opens (once per page) the `meshwork` database, creating its stores on first use. */
export const openMeshDb = sharedOpener<MeshworkDb>(DB_NAME, DB_VERSION, (db) => {
  db.createObjectStore('identity');
  db.createObjectStore('models', { keyPath: 'hash' });
  db.createObjectStore('modelAccess', { keyPath: 'hash' }).createIndex('lastUsed', 'lastUsed');
  db.createObjectStore('receipts', { keyPath: ['kind', 'leaseId'] }).createIndex('jobId', 'jobId');
});
