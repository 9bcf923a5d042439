/**
 * Leases as the market hands them out: a fresh id, the price and expiry, and two views. The job's client
 * sees whether the run verifies another (`replica`) and whether a second run will follow (`verified`); the
 * contributor sees neither, so it cannot tell a checked run from an unchecked one.
 */
import type { ContributorLease, Lease } from '../../src/protocol/coordinator.ts';
import { toHex } from '../../src/core/encoding.ts';
import type { Job, RunRole } from './job.ts';

/** A random id with a one-letter prefix (ids match the protocol's `[A-Za-z0-9_-]{1,64}`). */
export function newId(prefix: string): string {
  return prefix + toHex(crypto.getRandomValues(new Uint8Array(12)));
}

/** A new lease of shard `shard` of `job` to `contributor` at `price`, expiring `leaseMs` from now. */
export function newLease(job: Job, shard: number, contributor: string, price: number, role: RunRole, leaseMs: number): Lease {
  return {
    leaseId: newId('l'),
    jobId: job.jobId,
    shard,
    client: job.client,
    contributor,
    price,
    expiresAt: Date.now() + leaseMs,
    replica: role !== 'primary',
  };
}

/** The lease as its contributor sees it. */
export function contributorView(lease: Lease): ContributorLease {
  const { replica: _replica, verified: _verified, ...view } = lease;
  return view;
}
