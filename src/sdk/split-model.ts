/**
 * `splitModel()`: an ONNX model split into pipeline stages, with the plan a page can show (node ranges, cut tensors
 * and their types, weight bytes per stage) and each stage's model bytes. Balanced by weight bytes (default), by a
 * per-node cost, or by time measured on a sample input (`balance: 'time'`, time-balance.ts: onnxruntime-web in
 * this page, or the `runtime` given). The partitioner and its protobuf package load on first use, in a chunk of
 * their own, so pages that never split a model do not download them.
 */
import type { PartitionOptions, StagePlan } from '../model/index.ts';
import type { StageRuntime } from './stage-timing.ts';
import type { TimeBalanceOptions, TimedStagePlan } from './time-balance.ts';

/** Options of a split balanced by time, as `splitModel` takes them. */
export interface SplitByTimeOptions extends TimeBalanceOptions {
  /** The runtime that times the stages (default: onnxruntime-web in this page, files from `base`). */
  runtime?: StageRuntime<unknown>;
  /** Where onnxruntime-web's files are served (default: this SDK's coordinator). */
  base?: string;
}

/** Splits ONNX model bytes into `options.stages` stages balanced by weight bytes (default), per-node cost or time. */
export async function splitModel(model: Uint8Array, options: SplitByTimeOptions): Promise<TimedStagePlan>;
export async function splitModel(model: Uint8Array, options: PartitionOptions): Promise<StagePlan>;
export async function splitModel(model: Uint8Array, options: PartitionOptions | SplitByTimeOptions): Promise<StagePlan> {
  if (options.balance === 'time') {
    const { splitByTime } = await import('./time-balance.ts');
    const o = options as SplitByTimeOptions;
    const runtime = o.runtime ?? (await (await import('./ort-stage-runtime.ts')).ortStageRuntime(o.base));
    return splitByTime(model, o, runtime);
  }
  const { partitionOnnx } = await import('../model/index.ts');
  return partitionOnnx(model, options as PartitionOptions);
}
