/** The contributor's recent-shards log: one line per lease, newest first. Pure, so it is testable. */

/** One line of the log. */
export interface ShardLine {
  at: number;
  leaseId: string;
  jobId: string;
  shard: number;
  phase: 'start' | 'done' | 'failed' | 'cancelled';
  ms?: number | undefined;
  error?: string | undefined;
}

/** A contributor 'shard' event's detail (the fields the log uses). */
export interface ShardEvent {
  leaseId: string;
  jobId: string;
  shard: number;
  phase: 'start' | 'done' | 'failed' | 'cancelled';
  ms?: number | undefined;
  error?: string | undefined;
}

/**
 * Returns the log with `e` recorded at time `now`: a 'start' adds a line on top (keeping at most `size`);
 * a 'done' or 'failed' replaces its lease's 'start' line in place (keeping its start time), or is added
 * on top when that line has already scrolled out.
 */
export function recordShard(log: readonly ShardLine[], e: ShardEvent, now: number, size = 30): ShardLine[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`Cannot record a shard as 'size' must be a positive integer: current value is ${size}`);
  const line: ShardLine = { at: now, leaseId: e.leaseId, jobId: e.jobId, shard: e.shard, phase: e.phase, ms: e.ms, error: e.error };
  const i = e.phase === 'start' ? -1 : log.findIndex((l) => l.leaseId === e.leaseId && l.phase === 'start');
  if (i < 0) return [line, ...log].slice(0, size);
  return log.map((l, j) => (j === i ? { ...line, at: l.at } : l));
}
