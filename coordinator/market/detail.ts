/**
 * A job shard by shard, as its owner may see it over the mesh API: which runs each shard has, their roles
 * (which ones verify), states, claimed hashes and payments. Never published over HTTP: knowing which shards
 * are checked is what a cheater needs, so only the client that pays for the job sees it.
 */
import type { JobDetail, RunView, ShardView } from '../../src/protocol/coordinator.ts';
import type { Job } from './job.ts';

/** The owner's view of a job. */
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
          if (r.state === 'paid') v.amount = job.runCost(index, r.lease).amount;
          return v;
        }),
      };
      if (s.acceptedHash !== undefined) view.outputHash = s.acceptedHash;
      return view;
    }),
  };
}

/** Runs a detail lists (for the retention budget of finished details). */
export function detailRuns(d: JobDetail): number {
  return d.shards.reduce((n, s) => n + s.runs.length + 1, 0);
}
