/**
 * Whether a job may enter the market, and under which id. Every running job costs the coordinator memory
 * and matching time, so each is bounded: a minimum escrow (no free jobs), and per-client and global caps on
 * running jobs, shards and submitted bytes.
 *
 * A job's id is derived from its client and the canonical text of its signed spec, so a replayed submit,
 * whatever encoding its signature is given, maps to the same id; the ledger keeps every escrow it ever
 * opened, so the replay is refused even after the job finished long ago or the coordinator restarted.
 */
import { canonicalJson, type JobSpec } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import { sha256Hex } from '../../src/core/hash.ts';
import type { ClientUsage } from './book.ts';

/** Bounds on what clients may have running. */
export interface MarketLimits {
  /** Smallest escrow a job may hold (micro-credits). */
  minEscrow: number;
  maxJobsPerClient: number;
  maxShardsPerClient: number;
  /** Characters of submit frames of a client's running jobs. */
  maxBytesPerClient: number;
  maxRunningJobs: number;
  maxRunningShards: number;
}

/** Defaults: room for real work, no room for a flood. */
export const DEFAULT_LIMITS: MarketLimits = {
  minEscrow: 20,
  maxJobsPerClient: 16,
  maxShardsPerClient: 20_000,
  maxBytesPerClient: 32 * 1024 * 1024,
  maxRunningJobs: 5_000,
  maxRunningShards: 500_000,
};

/** Throws MeshError('rate-limited' | 'insufficient-funds' | 'invalid-message') when the job may not enter. */
export function admit(
  spec: JobSpec,
  escrow: number,
  bytes: number,
  usage: ClientUsage,
  global: { jobs: number; shards: number },
  limits: MarketLimits,
): void {
  if (spec.bid < 1) throw new MeshError('invalid-message', `Cannot accept job as 'job.bid' must be at least 1 micro-credit per work unit: current value is ${spec.bid}`);
  if (escrow < limits.minEscrow) {
    throw new MeshError('insufficient-funds', `Cannot accept job as its escrow must be at least ${limits.minEscrow} micro-credits: current value is ${escrow} (raise the bid)`);
  }
  const shards = spec.shards.length;
  if (usage.jobs + 1 > limits.maxJobsPerClient) {
    throw new MeshError('rate-limited', `Cannot accept job as a client may run ${limits.maxJobsPerClient} jobs at once: current count is ${usage.jobs}`);
  }
  if (usage.shards + shards > limits.maxShardsPerClient) {
    throw new MeshError('rate-limited', `Cannot accept job as a client may run ${limits.maxShardsPerClient} shards at once: current count is ${usage.shards} + ${shards}`);
  }
  if (usage.bytes + bytes > limits.maxBytesPerClient) {
    throw new MeshError('rate-limited', `Cannot accept job as a client's running jobs may take ${limits.maxBytesPerClient} characters: current size is ${usage.bytes} + ${bytes}`);
  }
  if (global.jobs + 1 > limits.maxRunningJobs || global.shards + shards > limits.maxRunningShards) {
    throw new MeshError('rate-limited', `Cannot accept job as the coordinator is full: ${global.jobs} jobs and ${global.shards} shards running`);
  }
  spec.shards.forEach((s, i) => {
    if (s.index !== i) throw new MeshError('invalid-message', `Cannot accept job as 'job.shards[${i}].index' must be ${i}: current value is ${s.index}`);
  });
}

/** The job id of a signed spec: `j` + 24 hex digits of SHA-256 over the client and the canonical spec (pass it when built already). */
export async function jobIdFor(client: string, spec: JobSpec, canonical = canonicalJson(spec)): Promise<string> {
  return 'j' + (await sha256Hex(new TextEncoder().encode(`${client}\n${canonical}`))).slice(0, 24);
}
