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
import { type JobPlan, planOnnx } from './job-plan.ts';
import type { LoadedModel } from './model-source.ts';
import type { OutputTensor, PipelineStage, RunPipelineOptions } from './types.ts';

/** Micro-batches per stage when the caller names no size: enough for every stage to have work in flight. */
export const MICRO_BATCHES_PER_STAGE = 2;

/** Checks a stage plan: 2..MAX stages, each stage's inputs the outputs of the one before. */
export function checkStages(stages: readonly PipelineStage[]): void {
  if (!Array.isArray(stages) || stages.length < 2 || stages.length > MAX_PIPELINE_STAGES) {
    throw new RangeError(`Cannot run a pipeline as it must have 2..${MAX_PIPELINE_STAGES} stages: current count is ${Array.isArray(stages) ? stages.length : String(stages)}`);
  }
  stages.forEach((s, k) => {
    if (!s?.model?.url || !Array.isArray(s.inputs) || !Array.isArray(s.outputs) || s.outputs.length === 0) {
      throw new TypeError(`Cannot run pipeline stage ${k} as it must name a model URL, its inputs and at least one output`);
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
export async function planFirstStage(opts: RunPipelineOptions, pipeline: PipelineSpec, loadModel: (url: string) => Promise<LoadedModel>): Promise<JobPlan<number>> {
  const stage = opts.stages[0]!;
  const first = opts.inputs[Object.keys(opts.inputs)[0] ?? ''];
  const batch = first?.dims[0] ?? 0;
  const items = microBatches(batch, opts.stages.length, opts.microBatch);
  const plan = await planOnnx({ model: stage.model, inputs: opts.inputs, outputs: stage.outputs, itemsPerShard: items[0] ?? 1 }, loadModel);
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
export async function planLaterStage(stage: PipelineStage, items: readonly number[], pipeline: PipelineSpec, loadModel: (url: string) => Promise<LoadedModel>): Promise<JobPlan<Record<string, OutputTensor> | number>> {
  const { bytes: model, hash } = await loadModel(stage.model.url);
  const last = pipeline.stage === pipeline.stages - 1;
  const kernel: KernelSpec = {
    kind: 'onnx',
    model: { hash, bytes: model.byteLength, url: stage.model.url, ...(stage.model.name === undefined ? {} : { name: stage.model.name }) },
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
