/**
 * The client's side of one lease on a peer link: ask to start (`shard`), learn whether the contributor lacks
 * the model (`need`), stream model and inputs, then take the outputs blob and the `done` frame and check them
 * (hash and declared shapes) before they count. Any failure rejects with a MeshError whose code says which
 * `reject` reason the coordinator should hear.
 */
import type { Lease } from '../protocol/coordinator.ts';
import { MeshError } from '../protocol/errors.ts';
import type { ShardSpec } from '../protocol/kernel.ts';
import type { TensorData, TensorSpec } from '../protocol/tensor.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { PeerLink } from '../mesh/peer-link.ts';
import { RemoteFailure } from '../mesh/lease-inbox.ts';
import { unpackOwned } from './owned-tensors.ts';

/** Milliseconds a contributor has to answer `shard` with `need`, and to send `done` after its outputs. */
export const CONTROL_TIMEOUT_MS = 30_000;
/** Extra milliseconds granted past a lease's expiry before the client gives up waiting for outputs. */
export const EXPIRY_GRACE_MS = 5_000;

/** What the transfer needs to know about the job. */
export interface LeaseJob {
  spec: ShardSpec;
  /** The shard's packed inputs; undefined for a later pipeline stage, whose contributor pulls them itself. */
  inputs: ArrayBuffer | undefined;
  /** A pipeline stage that keeps its outputs for the next stage: only `done` (with their hash) comes back. */
  keep?: boolean;
  model: ArrayBuffer | undefined;
  checkOutputs(spec: ShardSpec, declared: TensorSpec[]): void;
  /** Told what this lease measured of the link (sdk/mesh-figures.ts), if anyone listens. */
  link?: { recordRtt(ms: number): void; recordSend(bytes: number, ms: number): void } | undefined;
}

/** A checked output of one run (outputs undefined when the contributor keeps them: see LeaseJob.keep). */
export interface LeaseOutput {
  outputs: TensorData[] | undefined;
  outputHash: string;
}

/** Runs the client side of `lease` over `link`; ends the lease's inbox on the link whatever happens. */
export async function transferLease(link: PeerLink, lease: Lease, job: LeaseJob, signal: AbortSignal): Promise<LeaseOutput> {
  const inbox = link.lease(lease.leaseId);
  const onAbort = () => inbox.fail(signal.reason instanceof Error ? signal.reason : new MeshError('cancelled', `Cannot finish lease ${lease.leaseId} as it was abandoned`));
  signal.addEventListener('abort', onAbort);
  try {
    signal.throwIfAborted();
    const asked = performance.now();
    link.sendControl({ type: 'shard', v: PROTOCOL_VERSION, leaseId: lease.leaseId });
    const need = await inbox.nextFrame('need', CONTROL_TIMEOUT_MS);
    job.link?.recordRtt(performance.now() - asked);
    if (need.model) {
      if (!job.model) throw new MeshError('invalid-message', `Cannot send a model for lease ${lease.leaseId} as the job has none: the contributor asked for one`);
      await link.sendBlob(lease.leaseId, 'model', job.model, { signal });
    }
    if (job.inputs) {
      const sending = performance.now();
      await link.sendBlob(lease.leaseId, 'inputs', job.inputs, { signal, sha256: job.spec.inputHash });
      job.link?.recordSend(job.inputs.byteLength, performance.now() - sending);
    }
    const waitMs = Math.max(lease.expiresAt - Date.now(), CONTROL_TIMEOUT_MS) + EXPIRY_GRACE_MS;
    if (job.keep) {
      const done = await inbox.nextFrame('done', waitMs);
      try {
        job.checkOutputs(job.spec, done.outputs);
      } catch (err) {
        throw new MeshError('invalid-message', (err as Error).message);
      }
      return { outputs: undefined, outputHash: done.outputHash };
    }
    const { bytes, sha256: outputHash } = await inbox.nextBlob('outputs', waitMs);
    const done = await inbox.nextFrame('done', CONTROL_TIMEOUT_MS);
    if (outputHash !== done.outputHash) {
      throw new MeshError('hash-mismatch', `Cannot accept the outputs of lease ${lease.leaseId} as they must hash to ${done.outputHash}: current hash is ${outputHash}`);
    }
    // An answer from the result cache must be the output two agreeing runs verified before.
    if (lease.cached !== undefined && outputHash !== lease.cached) {
      throw new MeshError('hash-mismatch', `Cannot accept the cached answer of lease ${lease.leaseId} as it must hash to ${lease.cached}: current hash is ${outputHash}`);
    }
    let outputs: TensorData[];
    try {
      job.checkOutputs(job.spec, done.outputs);
      outputs = unpackOwned(bytes, done.outputs);
    } catch (err) {
      throw new MeshError('invalid-message', (err as Error).message);
    }
    return { outputs, outputHash };
  } finally {
    signal.removeEventListener('abort', onAbort);
    link.endLease(lease.leaseId);
  }
}

/**
 * The `reject` reason for a failed lease transfer. A failure the contributor reported on the link
 * (RemoteFailure: its worker crashed, its GPU was lost, it could not run the shard) produced no output, so it is
 * never 'bad-output', which the coordinator takes as evidence against a result: at worst the transfer failed.
 * 'bad-output' is for outputs this side received and found wrong (declared shapes that cannot be the shard's).
 */
export function rejectReason(err: unknown): 'hash-mismatch' | 'bad-output' | 'transfer-failed' {
  if (!(err instanceof MeshError) || err instanceof RemoteFailure) return 'transfer-failed';
  if (err.code === 'hash-mismatch') return 'hash-mismatch';
  if (err.code === 'invalid-message') return 'bad-output';
  return 'transfer-failed';
}
