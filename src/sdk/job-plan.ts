/**
 * Turning a client call into a job: the kernel, one ShardSpec per shard with its packed input bytes, the
 * rule that checks a contributor's declared outputs against the spec, and how shard outputs become the
 * result. ONNX output shapes are unknown before the model runs, so an ONNX shard's output specs carry only
 * the batch axis (`dims: [items]`, dtype as a placeholder) and a declared output must start with it.
 */
import { sha256Hex } from '../core/hash.ts';
import { workUnitsForMatmul, workUnitsForOnnx } from '../core/cost.ts';
import { batchShardItems, DEFAULT_BATCH_SHARDS, DEFAULT_TILE, matmulTileSide, type MeshFigures } from '../core/shard-size.ts';
import {
  assembleMatmul,
  batchSize,
  concatBatch,
  itemBytes,
  type MatmulTile,
  matmulTileOutput,
  matmulTiles,
  packTensors,
  shardCount,
  typedView,
} from '../core/sharding.ts';
import type { KernelSpec, ShardSpec } from '../protocol/kernel.ts';
import type { PipelineSpec } from '../protocol/pipeline.ts';
import { DTYPE_BYTES, type TensorData, type TensorSpec, tensorBytes } from '../protocol/tensor.ts';
import type { LoadedModel } from './model-source.ts';
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
  /** A pipeline stage (sdk/pipeline-plan.ts): its place in the pipeline, whether its contributors pull their
   * inputs from the stage before (no inputs sent from here), and whether they keep its outputs for the next. */
  pipeline?: { spec: PipelineSpec; pulled: boolean; keep: boolean };
}

/** Shards a batch is split into when nothing was measured of the mesh. */
export const DEFAULT_ONNX_SHARDS = DEFAULT_BATCH_SHARDS;

/**
 * What planOnnx runs: a model at a URL (loaded through `loadModel`), or one the SDK already holds, bytes and
 * hash (a model it made, such as OCR's edited recogniser: contributors get it from the client and check its hash;
 * the job names no URL, since no URL serves those bytes).
 */
export type PlanOnnxOptions = Omit<RunOnnxOptions, 'model'> & { model: RunOnnxOptions['model'] | { loaded: LoadedModel; name?: string } };

/**
 * Plans an ONNX job: packs each shard's inputs straight from the caller's arrays (one copy, made before this
 * returns to the event loop, so the caller may reuse its arrays at once), hashes the shards, and loads the
 * model (bytes and hash, usually from the session's ModelSource) meanwhile. Items per shard: the caller's
 * `itemsPerShard`, else sized from `figures` (core/shard-size.ts; the batch in 16 shards when nothing is known).
 */
export async function planOnnx(opts: PlanOnnxOptions, loadModel: (url: string) => Promise<LoadedModel>, figures?: MeshFigures): Promise<JobPlan<Record<string, OutputTensor>>> {
  const names = Object.keys(opts.inputs);
  if (names.length === 0) throw new TypeError('Cannot run an ONNX job as it must have inputs: current count is 0');
  if (!Array.isArray(opts.outputs) || opts.outputs.length === 0) {
    throw new TypeError(`Cannot run an ONNX job as 'outputs' must name at least one output: current value is ${JSON.stringify(opts.outputs)}`);
  }
  const tensors = names.map((name) => inputBytes(name, opts.inputs[name]!));
  const batch = batchSize(tensors);
  if (batch < 1) throw new RangeError(`Cannot run an ONNX job as the batch must have items: current size is ${batch}`);
  const per = opts.itemsPerShard ?? batchShardItems({ items: batch, unitsPerItem: workUnitsForOnnx(1), bytesPerItem: tensors.reduce((n, t) => n + itemBytes(t), 0) }, figures);
  const packed = packBatchShards(tensors, per);
  const ref = opts.model;
  const loading = 'loaded' in ref ? Promise.resolve(ref.loaded) : loadModel(ref.url);
  loading.catch(() => {}); // awaited below, after the shards are hashed
  const shards = await Promise.all(packed.map(async ({ inputs, bytes }, index) => {
    const items = inputs[0]!.dims[0]!;
    const spec: ShardSpec = {
      index,
      inputs,
      outputs: opts.outputs.map((name) => ({ name, dtype: 'float32', dims: [items] })),
      inputHash: await sha256Hex(bytes),
      workUnits: workUnitsForOnnx(items),
    };
    return { spec, inputs: bytes };
  }));
  const { bytes: model, hash } = await loading;
  const kernel: KernelSpec = {
    kind: 'onnx',
    model: { hash, bytes: model.byteLength, ...('url' in ref ? { url: ref.url } : {}), ...(ref.name === undefined ? {} : { name: ref.name }) },
    outputs: [...opts.outputs],
  };
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
      // One shard's outputs already are the result (each in a buffer of its own): no copy needed.
      const joined = outputs.length === 1 ? outputs[0]! : concatBatch(outputs);
      return Object.fromEntries(joined.map((t) => [t.name, toOutputTensor(t)]));
    },
  };
}

/** Side of a matmul tile when the caller does not choose one and nothing was measured (RunMatmulOptions.tile). */
export const DEFAULT_MATMUL_TILE = DEFAULT_TILE;

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

/**
 * Plans a tiled matmul C = A x B on the mesh with the built-in matmul kernel, which each contributor runs
 * with the tile configuration tuned for its own adapter. Tile side: the caller's `tile`, else sized from
 * `figures` (core/shard-size.ts; 512 when nothing is known).
 */
export async function planMatmul(opts: RunMatmulOptions, figures?: MeshFigures): Promise<JobPlan<Float32Array>> {
  const { a, b, m, k, n } = opts;
  if (!(a instanceof Float32Array) || a.length !== m * k) {
    throw new RangeError(`Cannot run a matmul as 'a' must be a Float32Array of m*k = ${m * k} values: current length is ${a?.length}`);
  }
  if (!(b instanceof Float32Array) || b.length !== k * n) {
    throw new RangeError(`Cannot run a matmul as 'b' must be a Float32Array of k*n = ${k * n} values: current length is ${b?.length}`);
  }
  const tiles = matmulTiles(m, n, opts.tile ?? matmulTileSide({ m, n, k }, figures));
  const kernel: KernelSpec = { kind: 'matmul' };
  // Packed before the first await, so the caller may reuse a and b as soon as this returns.
  const packed = tiles.map((tile) => packMatmulTile(a, b, k, n, tile));
  const shards = await Promise.all(tiles.map(async (tile, i) => {
    const { inputs, bytes } = packed[i]!;
    const spec: ShardSpec = {
      index: tile.index,
      inputs,
      outputs: [matmulTileOutput(tile)],
      inputHash: await sha256Hex(bytes),
      workUnits: workUnitsForMatmul(tile.mt, tile.nt, k),
    };
    return { spec, inputs: bytes };
  }));
  return {
    kernel,
    shards,
    checkOutputs: checkExact,
    assemble: (outputs) => {
      const blocks = outputs.map((o) => new Float32Array(o[0]!.data));
      // A single tile covering C already is C, row-major [m x n].
      const whole = tiles.length === 1 && blocks.length === 1 && blocks[0]!.length === m * n;
      return whole ? blocks[0]! : assembleMatmul(m, n, tiles, blocks);
    },
  };
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

/**
 * The packed inputs of one matmul tile, B first: the layout of `packTensors` over `matmulTileInputs(...)` in the
 * order b, a (B's columns made contiguous, then A's rows), written with one copy instead of two. B first lets a
 * contributor start on A's first rows while the rest arrive (streamed-matmul.ts).
 */
export function packMatmulTile(a: Float32Array, b: Float32Array, k: number, n: number, tile: MatmulTile): PackedShard {
  const { row, col, mt, nt } = tile;
  if (a.length < (row + mt) * k || b.length !== k * n || col + nt > n) {
    throw new RangeError(`Cannot pack tile ${tile.index} as it must lie inside A[${a.length / k}x${k}] and B[${k}x${n}]: current tile is rows ${row}+${mt}, columns ${col}+${nt}`);
  }
  const floats = new Float32Array(k * nt + mt * k);
  if (nt === n) floats.set(b, 0);
  else for (let r = 0; r < k; r++) floats.set(b.subarray(r * n + col, r * n + col + nt), r * nt);
  floats.set(a.subarray(row * k, (row + mt) * k), k * nt);
  return {
    inputs: [
      { name: 'b', dtype: 'float32', dims: [k, nt] },
      { name: 'a', dtype: 'float32', dims: [mt, k] },
    ],
    bytes: floats.buffer,
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

function checkBytes(name: string, spec: Pick<TensorSpec, 'dims' | 'dtype'>, bytes: number): void {
  const want = tensorBytes(spec);
  if (bytes !== want) throw new RangeError(`Cannot use tensor '${name}' as ${spec.dtype}[${spec.dims}] needs ${want} bytes: current length is ${bytes}`);
}

/** A tensor's bytes as the typed array of its dtype (not copied). */
export function toOutputTensor(t: TensorData): OutputTensor {
  return { dtype: t.dtype, dims: t.dims, data: typedView(t.dtype, t.data) };
}
