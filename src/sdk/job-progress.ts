/** The 'progress' event's detail of a job in flight, built from what changed and the shard count. */
import type { MeshError } from '../protocol/errors.ts';
import type { JobWait } from '../protocol/coordinator.ts';
import type { JobProgress } from './types.ts';

/** What changed: a JobProgress without the counts, with optional fields that may be given as undefined. */
export type ProgressNote = Omit<JobProgress, 'done' | 'total' | 'shard' | 'contributor' | 'error' | 'wait'> & {
  shard?: number | undefined;
  contributor?: string | undefined;
  error?: MeshError | undefined;
  wait?: JobWait | undefined;
};

/** The event detail of `p` for a job with `count.done` of `count.total` shards settled (undefined fields left out). */
export function progressDetail(count: { done: number; total: number }, p: ProgressNote): JobProgress {
  const detail: JobProgress = { done: count.done, total: count.total, state: p.state };
  if (p.shard !== undefined) detail.shard = p.shard;
  if (p.contributor !== undefined) detail.contributor = p.contributor;
  if (p.reason !== undefined) detail.reason = p.reason;
  if (p.failure !== undefined) detail.failure = p.failure;
  if (p.error !== undefined) detail.error = { code: p.error.code, message: p.error.message };
  if (p.wait !== undefined) detail.wait = p.wait;
  return detail;
}
