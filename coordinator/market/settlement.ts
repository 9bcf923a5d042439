/**
 * What peers report about runs, checked against the market's state. Pure checks that throw a MeshError
 * naming what is wrong or return a verdict; the market applies verdicts (and moves money) itself.
 * - a contributor's result claim must come from the lease holder, for that lease's job and shard;
 * - a client's receipt must match the run (contributor, shard, work units) and the claimed output hash;
 * - a client's complaint (`reject`) ends an unclaimed lease, or contests a claimed run so that an
 *   arbitration run decides it: the client's word alone never cuts pay.
 */
import type { ClientFrameOf, Receipt, ResultClaim } from '../../src/protocol/coordinator.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { Job, Run } from './job.ts';

/** A claim is new, or repeats one already recorded with the same hash. */
export type ClaimVerdict = 'new' | 'duplicate';

/** Checks a contributor's claim on the run `run` of shard `shard` of `job`. */
export function checkClaim(job: Job, shard: number, run: Run, peerId: string, claim: ResultClaim): ClaimVerdict {
  if (run.lease.contributor !== peerId) throw new MeshError('unauthorized', `Cannot claim lease ${claim.leaseId} as it is held by another contributor`);
  if (job.jobId !== claim.jobId || shard !== claim.shard) {
    throw new MeshError('invalid-message', `Cannot claim lease ${claim.leaseId} for job ${claim.jobId} shard ${claim.shard}: it is for job ${job.jobId} shard ${shard}`);
  }
  if (run.claim) {
    if (run.claim.outputHash === claim.outputHash) return 'duplicate';
    throw new MeshError('conflict', `Cannot claim lease ${claim.leaseId} again with another output hash: claimed ${run.claim.outputHash}`);
  }
  if (run.state !== 'leased') throw new MeshError('lease-expired', `Cannot claim lease ${claim.leaseId} as it is ${run.state}`);
  return 'new';
}

/** What a receipt does: pay the run now, or nothing because it is paid already. */
export type ReceiptVerdict = 'pay' | 'paid';

/** Checks a client's receipt against the run it names. */
export function checkReceipt(job: Job, run: Run, receipt: Receipt): ReceiptVerdict {
  const where = `lease ${receipt.leaseId} of job ${job.jobId}`;
  if (run.lease.shard !== receipt.shard) throw new MeshError('invalid-message', `Cannot settle ${where} as it is for shard ${run.lease.shard}: receipt names shard ${receipt.shard}`);
  if (run.lease.contributor !== receipt.contributor) {
    throw new MeshError('conflict', `Cannot settle ${where} as it is held by ${run.lease.contributor}: receipt names ${receipt.contributor}`);
  }
  const units = job.shards[receipt.shard]!.spec.workUnits;
  if (receipt.workUnits !== units) {
    throw new MeshError('invalid-message', `Cannot settle ${where} as 'receipt.workUnits' must equal the shard's ${units}: current value is ${receipt.workUnits}`);
  }
  if (!run.claim) throw new MeshError('conflict', `Cannot settle ${where} as its contributor has not claimed a result yet`);
  if (run.claim.outputHash !== receipt.outputHash) {
    throw new MeshError('hash-mismatch', `Cannot settle ${where} as 'receipt.outputHash' differs from the contributor's claimed ${run.claim.outputHash}: current value is ${receipt.outputHash}`);
  }
  if (run.state === 'paid') return 'paid';
  if (run.state === 'rejected') throw new MeshError('conflict', `Cannot settle ${where} as it was rejected on evidence: two agreeing runs claim another output`);
  return 'pay';
}

/** What a complaint does to a run. */
export type RejectVerdict = 'release' | 'contest' | 'nothing';

/** Checks a client's complaint about a run. */
export function checkReject(job: Job, run: Run, f: ClientFrameOf<'reject'>): RejectVerdict {
  if (run.lease.shard !== f.shard) {
    throw new MeshError('invalid-message', `Cannot reject lease ${f.leaseId} as it is for shard ${run.lease.shard}: the frame names shard ${f.shard}`);
  }
  if (run.settling) throw new MeshError('conflict', `Cannot reject lease ${f.leaseId} of job ${job.jobId} as a payment for it is being written`);
  switch (run.state) {
    case 'leased':
      return 'release';
    case 'claimed':
      return 'contest';
    case 'paid':
      throw new MeshError('conflict', `Cannot reject lease ${f.leaseId} of job ${job.jobId} as it was paid`);
    default:
      return 'nothing'; // contested or rejected already
  }
}
