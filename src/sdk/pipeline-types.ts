/** The SDK's public types of pipelines: models split into stages across contributors (see client.runPipeline). */
import type { DType } from '../protocol/tensor.ts';
import type { InputTensor, JobCost, JobOptions, JobProgress, OutputTensor } from './types.ts';

/**
 * One stage of a model split into stages (a stage plan, e.g. the partitioner's): its model, the tensors it takes
 * (stage 0: the model's inputs; later stages: the cut tensors of the stage before, in that stage's output order)
 * and the tensors it hands on (the last stage: the outputs fetched).
 */
export interface PipelineStage {
  /** The stage model: at a URL, or its bytes (as the partitioner made them). */
  model: { url: string; name?: string } | { bytes: Uint8Array; name?: string };
  inputs: { name: string; dtype: DType }[];
  outputs: string[];
}

/** A stage as a pipeline runs it, for a page to show: its tensors, model hash and size, and weight bytes. */
export interface PlannedStage {
  index: number;
  inputs: { name: string; dtype: DType }[];
  outputs: string[];
  /** SHA-256 and bytes of the stage model. */
  hash: string;
  bytes: number;
  /** Weight bytes in the stage, when the SDK split the model itself. */
  weightBytes?: number;
}

/** Options of `runPipeline`. */
export interface RunPipelineOptions extends JobOptions {
  /**
   * The stages, in order (at least 2), or how many stages to split `model` into (by weight bytes, so each fits
   * a contributor's memory; every stage must take only the outputs of the stage before it).
   */
  stages: PipelineStage[] | number;
  /** The whole model, when `stages` is a count. */
  model?: { url: string; name?: string };
  /**
   * When `stages` is a count: balance the stages by weight bytes (default: each fits a contributor's memory) or by
   * time measured in this page on the first item of `inputs` (onnxruntime-web; a stage may then hold more weights).
   */
  balance?: 'bytes' | 'time';
  /** Outputs of the last stage to fetch (default: all of its outputs). */
  outputs?: string[];
  /** Inputs of stage 0 by name; all share the batch size on axis 0. */
  inputs: Record<string, InputTensor>;
  /** Items per micro-batch (default: the batch split into 2 micro-batches per stage, so every stage has work). */
  microBatch?: number;
}

/** Progress of a pipeline: the stage a job event came from, and micro-batches decided per stage. */
export interface PipelineProgress extends JobProgress {
  stage: number;
  /** Micro-batches decided so far, per stage. */
  stagesDone: number[];
}

/**
 * A running pipeline: one stage job per stage, activations moving between their contributors. Events:
 * 'progress' (CustomEvent<PipelineProgress>). `result` is the last stage's outputs in batch order; `cost` the sum
 * over the stage jobs (resolves once all ended).
 */
export interface PipelineHandle extends EventTarget {
  /** The stage plan as run, once the stage models are loaded (or split). */
  readonly plan: Promise<PlannedStage[]>;
  /** The stage jobs' ids, in stage order. */
  readonly jobIds: Promise<string[]>;
  readonly result: Promise<Record<string, OutputTensor>>;
  readonly cost: Promise<JobCost>;
  cancel(): Promise<void>;
}
