/**
 * A submitted job on its way in: admission (admission.ts), its id, the escrow held in the ledger, which shards
 * are verified, their result cache keys, and the job written to the store before anyone may work on it. A
 * replayed signed job is refused however it arrives: before the hold, by the ledger's escrow history, or by a
 * concurrent twin that won the race.
 */
import type { JobSpec } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { escrowFor } from '../../src/core/cost.ts';
import { latencyMultiplier } from '../../src/core/latency.ts';
import type { Ledger } from '../ledger/types.ts';
import type { Metrics } from '../metrics.ts';
import { admit, jobIdFor, type MarketLimits } from './admission.ts';
import type { JobBook } from './book.ts';
import { Job } from './job.ts';
import type { MarketPersistence } from './persistence.ts';
import { kernelKey, shardKey } from './result-cache.ts';
import { chooseVerified } from './verification.ts';

/** What admitting a job needs. */
export interface SubmissionDeps {
  ledger: Ledger;
  metrics: Metrics;
  feeRate: number;
  limits: MarketLimits;
  book: JobBook;
  persist: MarketPersistence | undefined;
  random: () => number;
  /** The next submission sequence number. */
  nextSeq(): number;
}

/** Admits a job (whose signature the caller verified), holds its escrow and returns it, stored, not yet running. */
export async function admitJob(d: SubmissionDeps, client: string, spec: JobSpec, bytes: number, canonical?: string): Promise<Job> {
  const escrow = escrowFor({ shards: spec.shards, bid: spec.bid * latencyMultiplier(spec.latencyMs), feeRate: d.feeRate });
  admit(spec, escrow, bytes, d.book.usage(client), { jobs: d.book.runningCount, shards: d.book.runningShards }, d.limits);
  const jobId = await jobIdFor(client, spec, canonical);
  if (d.book.get(jobId) || d.book.finished(jobId)) throw replayed(spec);
  try {
    await d.ledger.hold(jobId, client, escrow);
  } catch (err) {
    if (err instanceof MeshError && err.code === 'conflict') throw replayed(spec);
    throw err;
  }
  d.metrics.inc('ledger_ops', 'hold');
  if (d.book.get(jobId)) throw replayed(spec); // a concurrent duplicate won the race
  const sampled = chooseVerified(spec.shards.length, spec.verifyFraction, d.random);
  const job = new Job(jobId, client, spec, d.nextSeq(), Date.now(), sampled, escrow, d.feeRate, bytes);
  const kernel = await kernelKey(spec.kernel);
  // A pipeline stage's outputs stay with its contributors for the next stage: no result cache for them.
  if (!spec.pipeline) for (const s of job.shards) s.cacheKey = shardKey(kernel, s.spec);
  try {
    await d.persist?.admitted(job);
  } catch (err) {
    await d.ledger.refund(jobId, client).catch(() => {});
    throw new MeshError('internal', `Cannot accept job as it could not be stored: ${(err as Error).message}`);
  }
  return job;
}

function replayed(spec: JobSpec): MeshError {
  return new MeshError('conflict', `Cannot accept job as this signed job (nonce ${spec.nonce}) was already submitted`);
}
