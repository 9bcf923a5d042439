/**
 * Turning a client call into a job: the kernel, one ShardSpec per shard with its packed input bytes, the
 * rule that checks a contributor's declared outputs against the spec, and how shard outputs become the
 * result. What each kind does is in its own file (kernels/<kind>.ts `plan<Kind>`); this file holds the plan's
 * shape and the packing and checks the kinds share.
 */
import { batchSize, itemBytes, shardCount, typedView } from '../core/sharding.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import type { PipelineSpec } from '../protocol/pipeline.ts';
import { DTYPE_BYTES, type TensorData, type TensorSpec, tensorBytes } from '../protocol/tensor.ts';
import type { InputTensor, OutputTensor } from './types.ts';

/** One shard ready to submit and send. */
export interface PlannedShard {
  spec: ShardSpec;
  inputs: ArrayBuffer;
}

/** Everything a job run needs besides market options. */
export interface JobPlan<T> {
  kernel: KernelSpec;
  shards: PlannedShard[];
  /** Model bytes for ONNX jobs, sent to contributors that lack them. */
  model?: ArrayBuffer;
  /** Throws if declared outputs cannot be this shard's. */
  checkOutputs(spec: ShardSpec, declared: TensorSpec[]): void;
  /** Builds the result from every shard's accepted outputs, in shard order. */
  assemble(outputs: TensorData[][]): T;
  /** A pipeline stage (sdk/pipeline-plan.ts): its place in the pipeline, whether its contributors pull their
   * inputs from the stage before (no inputs sent from here), and whether they keep its outputs for the next. */
  pipeline?: { spec: PipelineSpec; pulled: boolean; keep: boolean };
}

/** A shard's input specs and its packed wire bytes. */
export interface PackedShard {
  inputs: TensorSpec[];
  bytes: ArrayBuffer;
}

/**
 * The packed inputs of every batch shard, written straight from the callers' bytes: the same layout as
 * `packTensors(splitBatch(...)[s])` (each input's run of items, inputs in order) with one copy instead of three.
 */
export function packBatchShards(tensors: readonly { name: string; dtype: TensorSpec['dtype']; dims: number[]; bytes: Uint8Array }[], itemsPerShard: number): PackedShard[] {
  const batch = batchSize(tensors);
  const count = shardCount(batch, itemsPerShard);
  const out: PackedShard[] = [];
  for (let s = 0; s < count; s++) {
    const start = s * itemsPerShard;
    const items = Math.min(itemsPerShard, batch - start);
    const inputs = tensors.map((t) => ({ name: t.name, dtype: t.dtype, dims: [items, ...t.dims.slice(1)] }));
    const bytes = new Uint8Array(inputs.reduce((sum, spec) => sum + tensorBytes(spec), 0));
    let at = 0;
    for (const t of tensors) {
      const per = itemBytes(t);
      bytes.set(t.bytes.subarray(start * per, (start + items) * per), at);
      at += items * per;
    }
    out.push({ inputs, bytes: bytes.buffer });
  }
  return out;
}

/** Throws unless the declared outputs have exactly the spec's names, dtypes and dims, in order. */
export function checkExact(spec: ShardSpec, declared: TensorSpec[]): void {
  checkNames(spec, declared);
  declared.forEach((d, i) => {
    const want = spec.outputs[i]!;
    if (d.dtype !== want.dtype || d.dims.join() !== want.dims.join()) {
      throw new TypeError(`Cannot accept output '${d.name}' of shard ${spec.index} as it must be ${want.dtype}[${want.dims}]: current value is ${d.dtype}[${d.dims}]`);
    }
  });
}

/** Throws unless the declared outputs have the spec's names, in order. */
export function checkNames(spec: ShardSpec, declared: TensorSpec[]): void {
  const want = spec.outputs.map((o) => o.name).join();
  const got = declared.map((o) => o.name).join();
  if (want !== got) throw new TypeError(`Cannot accept the outputs of shard ${spec.index} as they must be [${want}]: current value is [${got}]`);
}

/** A copy of a tensor's spec (name, dtype, dims) without its data. */
export function specOf(t: TensorSpec): TensorSpec {
  return { name: t.name, dtype: t.dtype, dims: [...t.dims] };
}

/** The caller's input as a checked byte view (not copied). */
export function inputBytes(name: string, t: InputTensor): { name: string; dtype: TensorSpec['dtype']; dims: number[]; bytes: Uint8Array } {
  if (!t || !ArrayBuffer.isView(t.data)) throw new TypeError(`Cannot use input '${name}' as its data must be a typed array: current value is ${String(t?.data)}`);
  const width = (t.data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT;
  if (width !== undefined && width !== DTYPE_BYTES[t.dtype]) {
    throw new TypeError(`Cannot use input '${name}' as ${t.dtype} needs ${DTYPE_BYTES[t.dtype]}-byte elements: current array has ${width}-byte elements`);
  }
  checkBytes(name, t, t.data.byteLength);
  return { name, dtype: t.dtype, dims: [...t.dims], bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
}

/** Throws a RangeError unless `bytes` is the size of a `spec.dtype` tensor of `spec.dims`. */
export function checkBytes(name: string, spec: Pick<TensorSpec, 'dims' | 'dtype'>, bytes: number): void {
  const want = tensorBytes(spec);
  if (bytes !== want) throw new RangeError(`Cannot use tensor '${name}' as ${spec.dtype}[${spec.dims}] needs ${want} bytes: current length is ${bytes}`);
}

/** A shard output as the caller's typed tensor (a view, not a copy). */
export function toOutputTensor(t: TensorData): OutputTensor {
  return { dtype: t.dtype, dims: t.dims, data: typedView(t.dtype, t.data) };
}
