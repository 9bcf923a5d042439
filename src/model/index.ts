/**
 * ONNX model surgery for the mesh: split a model into pipeline stages; replace a probability output by its best path. Imports core and protocol, plus the
 * `onnx-proto` package (protobufjs), which is why this is not part of src/core (shared with the coordinator).
 * Used by src/sdk; runs in the page, in workers and in Deno.
 */
export { partitionOnnx } from './partition.ts';
export { rescaleToMeasured, spreadStageTimes } from './measured-cost.ts';
export type { CostRange } from './measured-cost.ts';
export { MAX_STAGES } from './stage-plan.ts';
export type { PartitionOptions, Stage, StageBalance, StageInput, StageOutput, StagePlan, StageTensor } from './stage-plan.ts';
export { appendArgMax } from './argmax-head.ts';
export type { ArgMaxHead, ArgMaxHeadOptions } from './argmax-head.ts';
