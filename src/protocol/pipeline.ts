/**
 * Pipelines: a model split into K stage models runs as K stage jobs, one per stage, whose shards are the same
 * micro-batches. Each stage job is an ordinary ONNX job that names its place in the pipeline (`pipeline`), so the
 * coordinator can tie it to the stage before it. A shard of stage k > 0 takes its inputs from the contributor that
 * produced shard i of stage k - 1 (peer to peer, never through the client); the coordinator fills its `inputHash`
 * from the upstream verdict, so a client submits it with PENDING_INPUT_HASH.
 *
 * On the peer link, the downstream contributor asks the upstream one for an output it keeps with `pull` (see
 * peer.ts); the upstream serves it only to the job's client or to a peer the coordinator named in a `serve` push.
 */
import * as v from 'valibot';
import { IdSchema, int } from './_fields.ts';
import { type TensorSpec, tensorBytes } from './tensor.ts';

/** Most stages one pipeline may have. */
export const MAX_PIPELINE_STAGES = 16;
/** The `inputHash` of a shard whose inputs come from the stage before it: the coordinator fills it in. */
export const PENDING_INPUT_HASH = '0'.repeat(64);

/**
 * A stage job's place in its pipeline: `id` (client-chosen, shared by the stages), this `stage` of `stages`, and
 * for stage > 0 the job id of the stage before it (`upstream`), which must be the same client's running job.
 */
export const PipelineSchema = v.pipe(
  v.strictObject({
    id: IdSchema,
    stage: int(0, MAX_PIPELINE_STAGES - 1),
    stages: int(2, MAX_PIPELINE_STAGES),
    upstream: v.exactOptional(IdSchema),
  }),
  v.check((p) => p.stage < p.stages, 'a stage below the stage count'),
  v.check((p) => (p.stage === 0) === (p.upstream === undefined), 'an upstream job exactly when the stage is not the first'),
);
/** A stage job's place in its pipeline. */
export type PipelineSpec = v.InferOutput<typeof PipelineSchema>;

/**
 * Where a downstream lease pulls its inputs from: the upstream contributor `peer`, its lease `leaseId` (the
 * output it keeps) and the hash the upstream verdict settled on, which the pulled bytes must have.
 */
export interface PipeSource {
  peer: string;
  leaseId: string;
  outputHash: string;
}

/** What a pipeline stage lease adds to `assign`: keep the outputs for the next stage, and/or pull inputs. */
export interface PipeAssign {
  /** Outputs stay here (not sent to the client) until the next stage has them: an intermediate stage. */
  keep?: boolean;
  /** The inputs come from this upstream output, not from the client. */
  from?: PipeSource;
}

/** Checks that tensors an upstream peer declares for a pulled output can be a downstream shard's inputs. */
export function checkPulledSpecs(expected: readonly Pick<TensorSpec, 'name' | 'dtype'>[], declared: readonly TensorSpec[], bytes: number): void {
  if (declared.length !== expected.length) {
    throw new TypeError(`Cannot use pulled inputs as there must be ${expected.length} tensors: current count is ${declared.length}`);
  }
  let total = 0;
  declared.forEach((d, i) => {
    const want = expected[i]!;
    if (d.name !== want.name || d.dtype !== want.dtype) {
      throw new TypeError(`Cannot use pulled input ${i} as it must be '${want.name}' (${want.dtype}): current value is '${d.name}' (${d.dtype})`);
    }
    total += tensorBytes(d);
  });
  if (total !== bytes) throw new TypeError(`Cannot use pulled inputs as their shapes need ${total} bytes: current size is ${bytes}`);
}
