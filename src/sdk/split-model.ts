/**
 * `splitModel()`: an ONNX model split into pipeline stages, with the plan a page can show (node ranges, cut tensors
 * and their types, weight bytes per stage) and each stage's model bytes. The partitioner and its protobuf
 * package load on first use, in a chunk of their own, so pages that never split a model do not download them.
 */
import type { PartitionOptions, StagePlan } from '../model/index.ts';

/** Splits ONNX model bytes into `options.stages` stages balanced by weight bytes (default) or per-node cost. */
export async function splitModel(model: Uint8Array, options: PartitionOptions): Promise<StagePlan> {
  const { partitionOnnx } = await import('../model/index.ts');
  return partitionOnnx(model, options);
}
