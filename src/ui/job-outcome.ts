/** How the PWA reads a finished job: a client's own cancel is an outcome of its own, not a failure. */
import type { JobSummary } from '../sdk/history.ts';
import type { JobCost } from '../sdk/index.ts';

/** 'cancelled' when the client cancelled (code 'cancelled'), 'failed' otherwise. */
export function outcomeOf(err: unknown): 'cancelled' | 'failed' {
  return typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === 'cancelled' ? 'cancelled' : 'failed';
}

/** "MeshError (transfer-failed): message" for display. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return `${err.name}${'code' in err ? ` (${String((err as { code: unknown }).code)})` : ''}: ${err.message}`;
}

/** Event the job views fire so the header can show escrow held: `micro` 0 releases the job's hold. */
export const ESCROW_EVENT = 'meshwork-escrow';

/** Detail of ESCROW_EVENT. */
export interface EscrowDetail {
  key: string;
  micro: number;
}

/** Tells the page how much a job holds in escrow (0: released). */
export function announceEscrow(from: EventTarget, key: string, micro: number): void {
  from.dispatchEvent(new CustomEvent<EscrowDetail>(ESCROW_EVENT, { detail: { key, micro }, bubbles: true, composed: true }));
}

/** Shard count from which a job needs the user's confirmation. */
export const CONFIRM_SHARDS = 1024;

/** A settled job's history entry: `job` with what it cost (0 where unknown) and, when it failed, `error`. */
export function settledJob(job: Omit<JobSummary, 'spent' | 'fees' | 'refunded' | 'error'>, cost: JobCost | undefined, error: string): JobSummary {
  return { ...job, spent: cost?.spent ?? 0, fees: cost?.fees ?? 0, refunded: cost?.refunded ?? 0, ...(job.outcome === 'failed' ? { error } : {}) };
}
