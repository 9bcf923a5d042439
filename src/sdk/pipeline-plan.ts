/**
 * Turning a pipeline call into stage job plans. Stage 0 is planned like any ONNX job (its micro-batches packed and
 * hashed here); a later stage's shards name their inputs (the cut tensors of the stage before) without bytes or
 * hash, which its contributors pull from the stage before and the coordinator fills in. Every stage but the last
 * keeps its outputs with its contributors; only the last stage's outputs come back here and are assembled in
 * batch order.
 */
import { workUnitsForOnnx } from '../core/cost.ts';
import { concatBatch, typedView } from '../core/sharding.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import { MAX_PIPELINE_STAGES, PENDING_INPUT_HASH, type PipelineSpec } from '../protocol/pipeline.ts';
import type { TensorData, TensorSpec } from '../protocol/tensor.ts';
import type { JobPlan } from './job-plan.ts';
import { planOnnx } from './kernels/index.ts';
import type { LoadedModel } from './model-source.ts';
import type { InputTensor, OutputTensor, PipelineStage } from './types.ts';

/** A stage with its model loaded: what planning needs. `url` is absent for a model made in this page. */
export interface ResolvedStage {
  inputs: PipelineStage['inputs'];
  outputs: string[];
  model: LoadedModel;
  url?: string;
  name?: string;
}

/** Micro-batches per stage when the caller names no size: enough for every stage to have work in flight. */
export const MICRO_BATCHES_PER_STAGE = 2;

/** Checks a stage plan: 2..MAX stages, each stage's inputs the outputs of the one before. */
export function checkStages(stages: readonly Pick<PipelineStage, 'inputs' | 'outputs'>[]): void {
  if (!Array.isArray(stages) || stages.length < 2 || stages.length > MAX_PIPELINE_STAGES) {
    throw new RangeError(`Cannot run a pipeline as it must have 2..${MAX_PIPELINE_STAGES} stages: current count is ${Array.isArray(stages) ? stages.length : String(stages)}`);
  }
  stages.forEach((s, k) => {
    if (!Array.isArray(s?.inputs) || !Array.isArray(s.outputs) || s.outputs.length === 0) {
      throw new TypeError(`Cannot run pipeline stage ${k} as it must name its inputs and at least one output`);
    }
    const before = stages[k - 1];
    if (before && before.outputs.join() !== s.inputs.map((i: { name: string }) => i.name).join()) {
      throw new TypeError(`Cannot run pipeline stage ${k} as its inputs must be stage ${k - 1}'s outputs [${before.outputs}]: current value is [${s.inputs.map((i: { name: string }) => i.name)}]`);
    }
  });
}

/** Items of each micro-batch of a batch of `batch` items. */
export function microBatches(batch: number, stages: number, microBatch: number | undefined): number[] {
  const per = microBatch ?? Math.max(1, Math.ceil(batch / (MICRO_BATCHES_PER_STAGE * stages)));
  if (!Number.isSafeInteger(per) || per < 1) throw new RangeError(`Cannot run a pipeline as 'microBatch' must be a positive integer: current value is ${microBatch}`);
  const out: number[] = [];
  for (let at = 0; at < batch; at += per) out.push(Math.min(per, batch - at));
  return out;
}

/** Plans stage 0: its micro-batches packed from the caller's inputs; its outputs stay with its contributors. */
export async function planFirstStage(stage: ResolvedStage, inputs: Record<string, InputTensor>, items: readonly number[], pipeline: PipelineSpec): Promise<JobPlan<number>> {
  const model = { url: stage.url ?? 'stage-0', ...(stage.name === undefined ? {} : { name: stage.name }) };
  const plan = await planOnnx({ model, inputs, outputs: stage.outputs, itemsPerShard: items[0] ?? 1 }, () => Promise.resolve(stage.model));
  if (plan.kernel.kind === 'onnx' && stage.url === undefined) delete plan.kernel.model.url;
  return {
    kernel: plan.kernel,
    shards: plan.shards,
    ...(plan.model ? { model: plan.model } : {}),
    checkOutputs: cutCheck,
    assemble: (outputs) => outputs.length,
    pipeline: { spec: pipeline, pulled: false, keep: true },
  };
}

/**
 * Plans stage k > 0 over `items` micro-batches: no inputs here (pulled peer to peer); an intermediate stage keeps
 * its outputs, the last one sends them and is assembled into the result.
 */
export function planLaterStage(stage: ResolvedStage, items: readonly number[], pipeline: PipelineSpec): JobPlan<Record<string, OutputTensor> | number> {
  const { bytes: model, hash } = stage.model;
  const last = pipeline.stage === pipeline.stages - 1;
  const kernel: KernelSpec = {
    kind: 'onnx',
    model: { hash, bytes: model.byteLength, ...(stage.url === undefined ? {} : { url: stage.url }), ...(stage.name === undefined ? {} : { name: stage.name }) },
    outputs: [...stage.outputs],
  };
  const shards = items.map((n, index) => {
    const spec: ShardSpec = {
      index,
      // Shapes of cut tensors are the stage before's to tell (the pulled output names them): axis 0 only here.
      inputs: stage.inputs.map((t) => ({ name: t.name, dtype: t.dtype, dims: [n] })),
      outputs: stage.outputs.map((name) => ({ name, dtype: 'float32', dims: [n] })),
      inputHash: PENDING_INPUT_HASH,
      workUnits: workUnitsForOnnx(n),
    };
    return { spec, inputs: new ArrayBuffer(0) };
  });
  return {
    kernel,
    shards,
    model,
    checkOutputs: last ? batchCheck : cutCheck,
    assemble: last ? assembleBatch : (outputs) => outputs.length,
    pipeline: { spec: pipeline, pulled: true, keep: !last },
  };
}

/** A stage's declared outputs must be its outputs by name (cut tensors need not be batch-first). */
function cutCheck(spec: ShardSpec, declared: TensorSpec[]): void {
  const want = spec.outputs.map((o) => o.name).join();
  const got = declared.map((o) => o.name).join();
  if (want !== got) throw new TypeError(`Cannot accept the outputs of shard ${spec.index} as they must be [${want}]: current value is [${got}]`);
}

/** The last stage's outputs must also start with the micro-batch's items on axis 0. */
function batchCheck(spec: ShardSpec, declared: TensorSpec[]): void {
  cutCheck(spec, declared);
  declared.forEach((d, i) => {
    if (d.dims[0] !== spec.outputs[i]!.dims[0]) {
      throw new TypeError(`Cannot accept output '${d.name}' of shard ${spec.index} as its axis 0 must be ${spec.outputs[i]!.dims[0]}: current dims are [${d.dims}]`);
    }
  });
}

function assembleBatch(outputs: TensorData[][]): Record<string, OutputTensor> {
  const joined = outputs.length === 1 ? outputs[0]! : concatBatch(outputs);
  return Object.fromEntries(joined.map((t) => [t.name, { dtype: t.dtype, dims: t.dims, data: typedView(t.dtype, t.data) }]));
}
