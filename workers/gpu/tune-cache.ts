/**
 * Tuning results that outlive the worker: IndexedDB database `meshwork-tuning`, store `matmul`, keyed by
 * the adapter (see `adapterKey`). Where IndexedDB is missing (Deno, some private modes) or fails, results
 * live in memory for the life of the worker, so a broken store costs a re-tune, never a failed probe.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { GpuLimits } from '../../src/protocol/capabilities.ts';

/** A stored tuning outcome. */
export interface TuneRecord {
  key: string;
  /** The winning configuration, re-checked against the device when read. */
  config: unknown;
  gflops: number;
  n: number;
  trials: number;
  /** Whether every candidate was timed (an incomplete choice is refined further). */
  complete?: boolean;
  at: number;
}

interface TuningSchema extends DBSchema {
  matmul: { key: string; value: TuneRecord };
}

/**
 * Bumped whenever the generated kernels or the candidate list change, so old choices are re-measured.
 * Part of every key.
 */
export const TUNING_VERSION = 2;

/** What identifies an adapter for tuning: driver identity, the limits tuning depends on, the browser. */
export function adapterKey(
  info: { vendor: string; architecture: string; description: string },
  limits: Pick<GpuLimits, 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupStorageSize' | 'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupSizeY'>,
  userAgent = globalThis.navigator?.userAgent ?? '',
): string {
  return [
    `v${TUNING_VERSION}`,
    info.vendor,
    info.architecture,
    info.description,
    limits.maxComputeInvocationsPerWorkgroup,
    limits.maxComputeWorkgroupStorageSize,
    limits.maxComputeWorkgroupSizeX,
    limits.maxComputeWorkgroupSizeY,
    userAgent,
  ].join('|');
}

/** Tuning results by adapter key. */
export class TuneCache {
  readonly #memory = new Map<string, TuneRecord>();
  #db: Promise<IDBPDatabase<TuningSchema> | undefined> | undefined;

  async get(key: string): Promise<TuneRecord | undefined> {
    const hit = this.#memory.get(key);
    if (hit) return hit;
    const db = await this.#open();
    try {
      const stored = await db?.get('matmul', key);
      if (stored) this.#memory.set(key, stored);
      return stored;
    } catch {
      return undefined;
    }
  }

  async put(record: TuneRecord): Promise<void> {
    this.#memory.set(record.key, record);
    const db = await this.#open();
    try {
      await db?.put('matmul', record);
    } catch (err) {
      console.warn(`meshwork: matmul tuning kept in memory only: ${(err as Error).message}`);
    }
  }

  #open(): Promise<IDBPDatabase<TuningSchema> | undefined> {
    this.#db ??= typeof indexedDB === 'undefined'
      ? Promise.resolve(undefined)
      : openDB<TuningSchema>('meshwork-tuning', 1, {
        upgrade(db) {
          db.createObjectStore('matmul', { keyPath: 'key' });
        },
      }).catch((err) => {
        console.warn(`meshwork: matmul tuning cache unavailable: ${(err as Error).message}`);
        return undefined;
      });
    return this.#db;
  }
}
