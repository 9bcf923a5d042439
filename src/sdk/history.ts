/**
 * The PWA's local history (contributor earnings per day, client jobs), kept in IndexedDB by src/storage. Not
 * part of the public SDK (index.ts); the UI reads storage through here, as DESIGN.md's dependency direction asks.
 */
export { addToDay, dayKey, type DayTotals, HISTORY_DAYS, HISTORY_JOBS, type JobOutcome, type JobSummary, listDays, listJobs, recordJob } from '../storage/history.ts';
