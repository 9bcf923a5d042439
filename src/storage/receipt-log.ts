/** Local record of receipts this peer signed as a client and claims/credits it got as a contributor. */
import { openMeshDb, type ReceiptRecord } from './db.ts';

/** Stores (or replaces) the record of one kind for one lease. */
export async function recordReceipt(record: ReceiptRecord): Promise<void> {
  const db = await openMeshDb();
  await db.put('receipts', record);
}

/** Records for one job, or all records when no job is given, oldest first. */
export async function listReceipts(jobId?: string): Promise<ReceiptRecord[]> {
  const db = await openMeshDb();
  const records = jobId === undefined ? await db.getAll('receipts') : await db.getAllFromIndex('receipts', 'jobId', jobId);
  return records.sort((a, b) => a.at - b.at);
}
