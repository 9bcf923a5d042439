/** A job's market options once the SDK's defaults are applied, as JobRun runs them. */
import type { Tolerance } from '../core/verify.ts';
import type { LeaseJob } from './lease-transfer.ts';

/** Market options of a job with defaults applied. */
export interface ResolvedJobOptions {
  bid: number;
  verifyFraction: number;
  tolerance: Tolerance;
  deadlineMs: number;
  /** Told what each lease measured of the link (the session's sdk/mesh-figures.ts meter). */
  link?: LeaseJob['link'];
  /**
   * How long a job the coordinator reports done may wait for outputs still streaming here (default
   * OUTPUT_GRACE_MS): agreeing claims pay and decide a shard before its output has finished arriving.
   */
  outputGraceMs?: number;
}

/** Default of ResolvedJobOptions.outputGraceMs. */
export const OUTPUT_GRACE_MS = 30_000;
