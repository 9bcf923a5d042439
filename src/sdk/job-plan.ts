/**
 * Turning a client call into a job: the kernel, one ShardSpec per shard with its packed input bytes, the
 * rule that checks a contributor's declared outputs against the spec, and how shard outputs become the
 * result. ONNX output shapes are unknown before the model runs, so an ONNX shard's output specs carry only
 * the batch axis (`dims: [items]`, dtype as a placeholder) and a declared output must start with it.
 */
import { sha256Hex } from '../core/hash.ts';
import { workUnitsForMatmul, workUnitsForOnnx } from '../core/cost.ts';
import {
  assembleMatmul,
  batchSize,
  concatBatch,
  matmulTileInputs,
  matmulTileOutput,
  matmulTiles,
  packTensors,
  splitBatch,
  typedView,
} from '../core/sharding.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import { DTYPE_BYTES, type TensorData, type TensorSpec, tensorBytes } from '../protocol/tensor.ts';
import { MATMUL_BINDINGS, MATMUL_ENTRY_POINT, matmulDispatch } from '../../shaders/matmul.ts';
import type { InputTensor, OutputTensor, RunMatmulOptions, RunOnnxOptions, RunWgslOptions } from './types.ts';

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
}

/** Shards a batch is split into by default. */
export const DEFAULT_ONNX_SHARDS = 16;

/** Plans an ONNX job: fetches the model, splits the batch and packs each shard. */
export async function planOnnx(opts: RunOnnxOptions, fetchModel: (url: string) => Promise<ArrayBuffer>): Promise<JobPlan<Record<string, OutputTensor>>> {
  const names = Object.keys(opts.inputs);
  if (names.length === 0) throw new TypeError('Cannot run an ONNX job as it must have inputs: current count is 0');
  if (!Array.isArray(opts.outputs) || opts.outputs.length === 0) {
    throw new TypeError(`Cannot run an ONNX job as 'outputs' must name at least one output: current value is ${JSON.stringify(opts.outputs)}`);
  }
  const tensors = names.map((name) => toTensorData(name, opts.inputs[name]!));
  const batch = batchSize(tensors);
  if (batch < 1) throw new RangeError(`Cannot run an ONNX job as the batch must have items: current size is ${batch}`);
  const per = opts.itemsPerShard ?? Math.ceil(batch / DEFAULT_ONNX_SHARDS);
  const model = await fetchModel(opts.model.url);
  const hash = await sha256Hex(model);
  const kernel: KernelSpec = {
    kind: 'onnx',
    model: { hash, bytes: model.byteLength, url: opts.model.url, ...(opts.model.name === undefined ? {} : { name: opts.model.name }) },
    outputs: [...opts.outputs],
  };
  const shards = await Promise.all(splitBatch(tensors, per).map(async (inputs, index) => {
    const items = inputs[0]!.dims[0]!;
    const packed = packTensors(inputs);
    const spec: ShardSpec = {
      index,
      inputs: inputs.map(specOf),
      outputs: opts.outputs.map((name) => ({ name, dtype: 'float32', dims: [items] })),
      inputHash: await sha256Hex(packed),
      workUnits: workUnitsForOnnx(items),
    };
    return { spec, inputs: packed };
  }));
  return {
    kernel,
    shards,
    model,
    checkOutputs(spec, declared) {
      checkNames(spec, declared);
      declared.forEach((d, i) => {
        if (d.dims[0] !== spec.outputs[i]!.dims[0]) {
          throw new TypeError(`Cannot accept output '${d.name}' of shard ${spec.index} as its axis 0 must be ${spec.outputs[i]!.dims[0]}: current dims are [${d.dims}]`);
        }
      });
    },
    assemble(outputs) {
      const joined = concatBatch(outputs);
      return Object.fromEntries(joined.map((t) => [t.name, toOutputTensor(t)]));
    },
  };
}

/** Plans a WGSL job from caller-made shards. */
export async function planWgsl(opts: RunWgslOptions): Promise<JobPlan<TensorData[][]>> {
  const kernel: KernelSpec = { kind: 'wgsl', source: opts.kernel.source, entryPoint: opts.kernel.entryPoint, bindings: opts.kernel.bindings.map((b) => ({ ...b })) };
  if (!Array.isArray(opts.shards) || opts.shards.length === 0) throw new TypeError('Cannot run a WGSL job as it must have shards: current count is 0');
  const shards = await Promise.all(opts.shards.map(async (s, index) => {
    s.inputs.forEach((t) => checkBytes(t.name, t, t.data.byteLength));
    const packed = packTensors(s.inputs);
    const spec: ShardSpec = {
      index,
      inputs: s.inputs.map(specOf),
      outputs: s.outputs.map(specOf),
      inputHash: await sha256Hex(packed),
      workUnits: s.workUnits,
      dispatch: [...s.dispatch],
    };
    return { spec, inputs: packed };
  }));
  return { kernel, shards, checkOutputs: checkExact, assemble: (outputs) => outputs };
}

/** Plans a tiled matmul C = A x B on the mesh. */
export async function planMatmul(opts: RunMatmulOptions, source: string): Promise<JobPlan<Float32Array>> {
  const { a, b, m, k, n } = opts;
  if (!(a instanceof Float32Array) || a.length !== m * k) {
    throw new RangeError(`Cannot run a matmul as 'a' must be a Float32Array of m*k = ${m * k} values: current length is ${a?.length}`);
  }
  if (!(b instanceof Float32Array) || b.length !== k * n) {
    throw new RangeError(`Cannot run a matmul as 'b' must be a Float32Array of k*n = ${k * n} values: current length is ${b?.length}`);
  }
  const tiles = matmulTiles(m, n, opts.tile ?? 128);
  const kernel: KernelSpec = { kind: 'wgsl', source, entryPoint: MATMUL_ENTRY_POINT, bindings: MATMUL_BINDINGS.map((x) => ({ ...x })) };
  const shards = await Promise.all(tiles.map(async (tile) => {
    const inputs = matmulTileInputs(a, b, k, n, tile);
    const packed = packTensors(inputs);
    const spec: ShardSpec = {
      index: tile.index,
      inputs: inputs.map(specOf),
      outputs: [matmulTileOutput(tile)],
      inputHash: await sha256Hex(packed),
      workUnits: workUnitsForMatmul(tile.mt, tile.nt, k),
      dispatch: matmulDispatch(tile.mt, tile.nt),
    };
    return { spec, inputs: packed };
  }));
  return {
    kernel,
    shards,
    checkOutputs: checkExact,
    assemble: (outputs) => assembleMatmul(m, n, tiles, outputs.map((o) => new Float32Array(o[0]!.data))),
  };
}

function checkExact(spec: ShardSpec, declared: TensorSpec[]): void {
  checkNames(spec, declared);
  declared.forEach((d, i) => {
    const want = spec.outputs[i]!;
    if (d.dtype !== want.dtype || d.dims.join() !== want.dims.join()) {
      throw new TypeError(`Cannot accept output '${d.name}' of shard ${spec.index} as it must be ${want.dtype}[${want.dims}]: current value is ${d.dtype}[${d.dims}]`);
    }
  });
}

function checkNames(spec: ShardSpec, declared: TensorSpec[]): void {
  const want = spec.outputs.map((o) => o.name).join();
  const got = declared.map((o) => o.name).join();
  if (want !== got) throw new TypeError(`Cannot accept the outputs of shard ${spec.index} as they must be [${want}]: current value is [${got}]`);
}

function specOf(t: TensorSpec): TensorSpec {
  return { name: t.name, dtype: t.dtype, dims: [...t.dims] };
}

function toTensorData(name: string, t: InputTensor): TensorData {
  if (!t || !ArrayBuffer.isView(t.data)) throw new TypeError(`Cannot use input '${name}' as its data must be a typed array: current value is ${String(t?.data)}`);
  const width = (t.data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT;
  if (width !== undefined && width !== DTYPE_BYTES[t.dtype]) {
    throw new TypeError(`Cannot use input '${name}' as ${t.dtype} needs ${DTYPE_BYTES[t.dtype]}-byte elements: current array has ${width}-byte elements`);
  }
  checkBytes(name, t, t.data.byteLength);
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice().buffer;
  return { name, dtype: t.dtype, dims: [...t.dims], data };
}

function checkBytes(name: string, spec: Pick<TensorSpec, 'dims' | 'dtype'>, bytes: number): void {
  const want = tensorBytes(spec);
  if (bytes !== want) throw new RangeError(`Cannot use tensor '${name}' as ${spec.dtype}[${spec.dims}] needs ${want} bytes: current length is ${bytes}`);
}

function toOutputTensor(t: TensorData): OutputTensor {
  return { dtype: t.dtype, dims: t.dims, data: typedView(t.dtype, t.data) };
}
