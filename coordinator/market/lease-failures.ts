/**
 * What the market does when a run ends without a result (see failures.ts for the rules): a contributor's own
 * report (`fail`), a client's complaint about an unclaimed lease, an expired lease. It releases the lease, keeps
 * the contributor off the shard, counts the contributor's streak and pauses it at the breaker, and ends a job that
 * can no longer finish (every capable contributor barred) or that its contributors find wrong.
 */
import type { ClientFrameOf, LeaseFailure, ServerFrame } from '../../src/protocol/coordinator.ts';
import type { ErrorCode } from '../../src/protocol/errors.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ContributorRegistry } from './contributors.ts';
import { BREAKER_FAILURES, FailureStreaks, shardFailed } from './failures.ts';
import type { InFlight, RunRef } from './in-flight.ts';
import type { Job, Run } from './job.ts';
import { shardBlocked } from './matching.ts';

/** What the failure handling needs of the market. */
export interface LeaseFailureDeps {
  registry: ContributorRegistry;
  runs: InFlight;
  log: Logger;
  metrics: Metrics;
  notify(peerId: string, frame: ServerFrame): boolean;
  backoffMs?: readonly number[];
  release(leaseId: string, reason: string, revoke: boolean, failure?: LeaseFailure): boolean;
  releaseAll(peerId: string, reason: string, revoke: boolean): void;
  afterChange(job: Job, i: number): void;
  schedule(): void;
  failJob(job: Job, code: ErrorCode, message: string): void;
}

/** Failed runs and what follows from them. */
export class LeaseFailures {
  readonly #streaks = new FailureStreaks();

  constructor(private readonly d: LeaseFailureDeps) {}

  /**
   * A contributor reports it could not finish its lease: the lease is released, the contributor kept off the
   * shard, its streak counted; a job its contributors find wrong ('bad-input' from two of them, or from the only
   * one able to run it) fails at once with their reason.
   */
  fail(peerId: string, f: ClientFrameOf<'fail'>): { released: boolean } {
    const ref = this.d.runs.get(f.leaseId);
    if (!ref) throw new MeshError('lease-expired', `Cannot report lease ${f.leaseId} failed as it is not in flight: it expired, was released or settled`);
    const { job, shard, run } = ref;
    if (run.lease.contributor !== peerId) throw new MeshError('unauthorized', `Cannot report lease ${f.leaseId} failed as it belongs to another contributor`);
    if (job.jobId !== f.jobId || shard !== f.shard) throw new MeshError('invalid-message', `Cannot report lease ${f.leaseId} failed as it is for job ${job.jobId} shard ${shard}`);
    if (run.state !== 'leased') throw new MeshError('conflict', `Cannot report lease ${f.leaseId} failed as its result was already claimed`);
    const why = f.message ? `${f.reason}: ${f.message}` : f.reason;
    if (run.lease.cached !== undefined) {
      // A holder that cannot answer from its cache did no work: it is forgotten as a holder (Market.release),
      // unpaid, and the shard is placed again; no streak and no bar, as nothing it computed was at fault.
      this.d.log.info('cached lease declined', { jobId: job.jobId, shard, leaseId: f.leaseId, contributor: peerId, reason: f.reason });
      this.d.metrics.inc('errors', `lease-${f.reason}`);
      return { released: this.d.release(f.leaseId, `failed: ${why}`, false, f.reason) };
    }
    if (f.reason === 'not-cached') {
      throw new MeshError('invalid-message', `Cannot report lease ${f.leaseId} as not cached as it is not a lease to answer from the result cache`);
    }
    this.d.log.info('lease failed', { jobId: job.jobId, shard, leaseId: f.leaseId, contributor: peerId, reason: f.reason, message: f.message });
    this.d.metrics.inc('errors', `lease-${f.reason}`);
    // A source that did not deliver is not this contributor's fault: it may take the shard again at once.
    const outcome = f.reason === 'source-lost' ? 'cooling' : shardFailed(job, shard, peerId, Date.now(), this.d.backoffMs);
    this.d.runs.forget(ref);
    job.release(shard, run);
    this.d.notify(job.client, { type: 'released', leaseId: f.leaseId, jobId: job.jobId, shard, reason: `failed: ${why}`, failure: f.reason });
    this.d.afterChange(job, shard);
    if (f.reason === 'bad-input') {
      job.badInput.add(peerId);
      this.#checkBadInput(job, shard, why);
    } else if (outcome === 'barred') {
      this.#checkBlocked(job, shard, why);
    }
    if (f.reason !== 'source-lost') this.#countFailure(peerId, `failed leases (last: ${why})`);
    this.d.schedule();
    return { released: true };
  }

  /** A client complained about an unclaimed lease: the contributor is kept off the shard (the client may be right), its streak untouched. */
  rejected(job: Job, shard: number, run: Run, why: string): void {
    if (shardFailed(job, shard, run.lease.contributor, Date.now(), this.d.backoffMs) === 'barred') this.#checkBlocked(job, shard, why);
  }

  /**
   * A lease ran out without a claim: its contributor is kept off the shard for a while, like any failed run, but
   * its streak is untouched (a client that never sent the inputs expires leases too).
   */
  expired(ref: RunRef): void {
    const { job, shard, run } = ref;
    if (run.state !== 'leased') return;
    const outcome = shardFailed(job, shard, run.lease.contributor, Date.now(), this.d.backoffMs);
    this.d.release(run.lease.leaseId, 'lease expired', true);
    if (outcome === 'barred') this.#checkBlocked(job, shard, 'lease expired');
  }

  /** A claim, or the contributor resumed: its streak starts again. */
  succeeded(peerId: string): void {
    this.#streaks.reset(peerId);
  }

  /** Counts a failure towards a contributor's streak; at BREAKER_FAILURES the coordinator pauses it. */
  #countFailure(peerId: string, what: string): void {
    const streak = this.#streaks.failed(peerId);
    const c = this.d.registry.get(peerId);
    if (streak < BREAKER_FAILURES || !c || c.state === 'paused') return;
    this.d.registry.force(c, 'paused');
    this.d.releaseAll(peerId, 'contributor paused after repeated failures', true);
    const reason = `Paused after ${streak} ${what} in a row: send state 'active' once fixed`;
    this.d.log.warn('contributor paused by the circuit breaker', { peerId, streak });
    this.d.metrics.inc('errors', 'contributor-paused');
    this.d.notify(peerId, { type: 'paused', reason, failures: streak });
  }

  /** After a contributor was barred from shard `i`: a job no registered contributor can finish fails now. */
  #checkBlocked(job: Job, i: number, why: string): void {
    if (job.state !== 'running' || !job.pending.has(i)) return;
    const { capable, blocked } = shardBlocked(job, i, this.d.registry.all());
    if (!blocked) return;
    this.d.failJob(job, 'no-capable-peer', `Cannot finish job ${job.jobId} as all ${capable} contributors able to run shard ${i} are barred from it (last: ${why})`);
  }

  /** Contributors say the job is wrong: two of them, or the only one able to run it, and it fails. */
  #checkBadInput(job: Job, i: number, why: string): void {
    if (job.state !== 'running') return;
    const reporters = job.badInput.size;
    const { capable } = shardBlocked(job, i, this.d.registry.all());
    if (reporters >= 2 || capable <= reporters) {
      this.d.failJob(job, 'invalid-message', `Cannot run job ${job.jobId} as ${reporters} contributor(s) found it wrong (shard ${i}: ${why})`);
    }
  }
}
