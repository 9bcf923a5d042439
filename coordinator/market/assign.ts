/**
 * Turning a matching decision into a lease: the run recorded on its shard, its expiry timer, the decision to
 * replicate an unverified primary (credibility.ts), and the `assign` and `assigned` pushes. A contributor that
 * cannot be told gets nothing: the lease is released at once.
 */
import type { ServerFrame } from '../../src/protocol/coordinator.ts';
import type { PipeAssign } from '../../src/protocol/pipeline.ts';
import { latencyMultiplier } from '../../src/core/latency.ts';
import type { ContributorRegistry } from './contributors.ts';
import type { Credibility } from './credibility.ts';
import type { InFlight, RunRef } from './in-flight.ts';
import type { Job, Run } from './job.ts';
import { contributorView, newLease } from './leases.ts';
import { shouldReplicate } from './verification.ts';

/** What leasing needs. */
export interface AssignDeps {
  registry: ContributorRegistry;
  credibility: Credibility;
  runs: InFlight;
  random: () => number;
  leaseMs: number;
  notify: (peerId: string, frame: ServerFrame) => boolean;
  /** A leased run's time ran out. */
  expired(ref: RunRef): void;
  release(leaseId: string, reason: string, revoke: boolean): boolean;
  schedule(): void;
  /**
   * The pipeline part of a lease (pipelines.ts): undefined outside pipelines, null when the shard's inputs are
   * gone (the upstream shard is computed again first, and nothing is leased).
   */
  pipePart?(job: Job, i: number, contributor: string): PipeAssign | null | undefined;
}

/**
 * Leases shard `i` of `job` to `contributor` at its ask `price` (times the latency tier). `cached`: the verified
 * output hash it answers with from its cache (market/cache-serve.ts), no replica needed. `straggler`: the run
 * this lease duplicates (speculation.ts), whose role it takes.
 */
export function assignRun(d: AssignDeps, job: Job, i: number, contributor: string, price: number, opts: { cached?: string; straggler?: Run } = {}): void {
  const { cached, straggler } = opts;
  const c = d.registry.get(contributor);
  if (!c) return;
  const s = job.shards[i]!;
  const pipe = d.pipePart?.(job, i, contributor);
  if (pipe === null) return; // its inputs are gone: the upstream shard is computed again first
  if (cached !== undefined) s.verify = false; // two runs agreed on this output already
  const role = straggler?.role ?? job.nextRole(i);
  const lease = newLease(job, i, contributor, price * latencyMultiplier(job.spec.latencyMs), role, d.leaseMs);
  if (cached !== undefined) lease.cached = cached;
  const run: Run = { lease, role, network: c.placement, startedAt: Date.now(), state: 'leased' };
  if (straggler) run.twinOf = straggler.lease.leaseId;
  if (pipe?.from) run.from = pipe.from.leaseId;
  const ref: RunRef = { job, shard: i, run };
  job.lease(i, run);
  d.runs.add(ref);
  run.timer = setTimeout(() => d.expired(ref), d.leaseMs);
  if (cached === undefined && !straggler && role === 'primary' && !s.verify && shouldReplicate(d.credibility.replicationProbability(contributor), d.random)) job.replicate(i);
  if (s.verify && !s.waived) lease.verified = true;
  if (!d.notify(contributor, { type: 'assign', lease: contributorView(lease), kernel: job.spec.kernel, spec: s.spec, ...(pipe ? { pipe } : {}) })) {
    d.release(lease.leaseId, 'contributor unreachable', false);
    return;
  }
  d.notify(job.client, { type: 'assigned', lease });
  if (job.pending.has(i)) d.schedule();
}
