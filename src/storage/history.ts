/**
 * Local history shown by the PWA (IndexedDB database `meshwork-history`, apart from `meshwork` so its schema
 * evolves on its own): per-day totals of what this device earned and ran as a contributor, and a summary of each
 * job it ran as a client. Bounded: days older than HISTORY_DAYS and jobs beyond HISTORY_JOBS are deleted as new
 * ones are written. Both stores hold summaries only (no inputs, outputs or keys).
 */
import type { DBSchema } from 'idb';
import { sharedOpener } from './shared-open.ts';

/** Days of contributor totals kept. */
export const HISTORY_DAYS = 90;
/** Client jobs kept (the newest). */
export const HISTORY_JOBS = 500;

/** One local day's contributor totals. */
export interface DayTotals {
  /** Local date, `YYYY-MM-DD`. */
  day: string;
  /** Micro-credits earned. */
  earned: number;
  /** Shards run to completion. */
  shards: number;
}

/** How a client job ended. */
export type JobOutcome = 'done' | 'cancelled' | 'failed';

/** A client job as the history lists it; amounts in micro-credits. */
export interface JobSummary {
  jobId: string;
  /** 'onnx' or 'matmul'. */
  kind: string;
  /** What ran, e.g. "PP-OCRv4 detector, 8 images". */
  label: string;
  /** Finish time, ms since the epoch. */
  at: number;
  shards: number;
  outcome: JobOutcome;
  /** Paid to contributors. */
  spent: number;
  fees: number;
  refunded: number;
  ms: number;
  /** Failure message, when it failed. */
  error?: string;
}

interface HistoryDb extends DBSchema {
  days: { key: string; value: DayTotals };
  jobs: { key: string; value: JobSummary; indexes: { at: number } };
}

/** Name of the history database. */
export const HISTORY_DB = 'meshwork-history';

const openHistoryDb = sharedOpener<HistoryDb>(HISTORY_DB, 1, (db) => {
  db.createObjectStore('days', { keyPath: 'day' });
  db.createObjectStore('jobs', { keyPath: 'jobId' }).createIndex('at', 'at');
});

/** The local calendar day of `ms`, `YYYY-MM-DD`. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Adds earnings and shards to the day of `at`, and drops days older than HISTORY_DAYS. */
export async function addToDay(at: number, add: { earned?: number; shards?: number }): Promise<void> {
  const db = await openHistoryDb();
  const tx = db.transaction('days', 'readwrite');
  const day = dayKey(at);
  const cur = (await tx.store.get(day)) ?? { day, earned: 0, shards: 0 };
  await tx.store.put({ day, earned: cur.earned + Math.max(0, add.earned ?? 0), shards: cur.shards + Math.max(0, add.shards ?? 0) });
  await tx.store.delete(IDBKeyRange.upperBound(dayKey(at - HISTORY_DAYS * 86_400_000), true));
  await tx.done;
}

/** Day totals from the day of `since` on, oldest first. */
export async function listDays(since: number): Promise<DayTotals[]> {
  const db = await openHistoryDb();
  return db.getAll('days', IDBKeyRange.lowerBound(dayKey(since)));
}

/** Records (or replaces) a client job and keeps only the newest HISTORY_JOBS. */
export async function recordJob(job: JobSummary): Promise<void> {
  const db = await openHistoryDb();
  const tx = db.transaction('jobs', 'readwrite');
  await tx.store.put(job);
  const excess = (await tx.store.count()) - HISTORY_JOBS;
  if (excess > 0) {
    let cursor = await tx.store.index('at').openCursor();
    for (let i = 0; i < excess && cursor; i++) {
      await cursor.delete();
      cursor = await cursor.continue();
    }
  }
  await tx.done;
}

/** The newest `limit` client jobs, newest first. */
export async function listJobs(limit = 50): Promise<JobSummary[]> {
  const db = await openHistoryDb();
  const out: JobSummary[] = [];
  let cursor = await db.transaction('jobs').store.index('at').openCursor(null, 'prev');
  while (cursor && out.length < limit) {
    out.push(cursor.value);
    cursor = await cursor.continue();
  }
  return out;
}
