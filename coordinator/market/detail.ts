/**
 * A running job shard by shard, as its owner may see it over the mesh API: which runs each shard has, their
 * roles (which ones verify), states and claimed hashes. Never published over HTTP: knowing which shards are
 * checked is what a cheater needs, so only the client that pays for the job sees it.
 */
import type { JobStatus } from '../../src/protocol/coordinator.ts';
import type { Job, RunRole, RunState } from './job.ts';

/** One run in the detail. */
export interface RunView {
  leaseId: string;
  contributor: string;
  role: RunRole;
  state: RunState;
  price: number;
  outputHash?: string;
}

/** One shard in the detail. */
export interface ShardView {
  index: number;
  state: 'queued' | 'leased' | 'done';
  /** Two agreeing runs are required (and not waived). */
  verified: boolean;
  /** Verification was waived: no second eligible contributor existed. */
  waived: boolean;
  outputHash?: string;
  runs: RunView[];
}

/** A job's status with one entry per shard. */
export type JobDetail = Omit<JobStatus, 'shards'> & { shards: ShardView[] };

/** The owner's view of a running job. */
export function jobDetail(job: Job): JobDetail {
  return {
    ...job.status(),
    shards: job.shards.map((s, index) => {
      const view: ShardView = {
        index,
        state: s.done ? 'done' : s.runs.some((r) => r.state !== 'rejected') ? 'leased' : 'queued',
        verified: s.verify && !s.waived,
        waived: s.waived,
        runs: s.runs.map((r) => {
          const v: RunView = { leaseId: r.lease.leaseId, contributor: r.lease.contributor, role: r.role, state: r.state, price: r.lease.price };
          if (r.claim) v.outputHash = r.claim.outputHash;
          return v;
        }),
      };
      if (s.acceptedHash !== undefined) view.outputHash = s.acceptedHash;
      return view;
    }),
  };
}
