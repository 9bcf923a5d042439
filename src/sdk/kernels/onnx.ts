/**
 * ONNX models on the mesh. Client side: a batch split along axis 0 into shards, the model loaded (bytes and
 * hash) meanwhile; output shapes are unknown before the model runs, so an ONNX shard's output specs carry only
 * the batch axis (`dims: [items]`, dtype as a placeholder) and a declared output must start with it.
 * Contributor side: `need` is answered from what is already in memory where possible (the ONNX worker's
 * sessions, else a key lookup in the model cache), and a session the worker holds is used without copying model
 * bytes into it; should the worker drop that session before the run, the bytes come from the cache instead. A
 * cached model is read and checked against its hash before `need` is answered; one the worker found wrong is
 * evicted before the failure is reported, so the next lease asks the client for it.
 */
import { sha256Hex } from '../../core/hash.ts';
import { workUnitsForOnnx } from '../../core/cost.ts';
import { batchShardItems, DEFAULT_BATCH_SHARDS, type MeshFigures } from '../../core/shard-size.ts';
import { batchSize, concatBatch, itemBytes, unpackTensors } from '../../core/sharding.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { KernelSpec, ShardSpec } from '../../protocol/kernel.ts';
import { checkNames, inputBytes, type JobPlan, packBatchShards, toOutputTensor } from '../job-plan.ts';
import type { LoadedModel } from '../model-source.ts';
import type { OutputTensor, RunOnnxOptions } from '../types.ts';
import { type TaskMaker, timed } from './task.ts';

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

/** The contributor's side of an ONNX lease. */
export const onnxTask: TaskMaker<'onnx'> = ({ assign, pool, cache }) => {
  const { kernel, lease } = assign;
  const hash = kernel.model.hash;
  let model: ArrayBuffer | undefined;
  return {
    /**
     * 'session' (the ONNX worker holds one, checked in its memory), 'cache' (IndexedDB has bytes that hash to the
     * key; they are kept for the run) or 'peer' (the client must send it: also when the cached copy was corrupt,
     * which the cache then deleted).
     */
    async findModel() {
      if (await pool.hasOnnxSession(hash).catch(() => false)) return 'session';
      if (!(await cache.has(hash).catch(() => false))) return 'peer';
      const cached = await cache.get(hash).catch(() => undefined);
      if (!cached) return 'peer';
      model = cached.bytes;
      return 'cache';
    },
    takeModel({ bytes, sha256 }) {
      if (sha256 !== hash) {
        throw new MeshError('hash-mismatch', `Cannot use the model for lease ${lease.leaseId} as it must hash to ${hash}: current hash is ${sha256}`);
      }
      // The pool takes ownership of what it runs, so the cache gets its own copy.
      cache.put(hash, bytes.slice(0), kernel.model.name).catch(() => {});
      model = bytes;
    },
    async compute(input) {
      const inputs = await input.whole();
      const deadline = input.deadline();
      // unpackTensors copies, so `inputs` stays whole for a second attempt (the pool detaches what it runs).
      const task = (bytes: ArrayBuffer | undefined) => ({
        kind: 'onnx' as const,
        modelHash: hash,
        ...(bytes === undefined ? {} : { model: bytes }),
        inputs: unpackTensors(inputs, input.specs),
        outputNames: kernel.outputs,
      });
      const first = task(model);
      try {
        return await timed(() => pool.run(first, { deadline }));
      } catch (err) {
        // The worker dropped the session after we looked (evicted for another model): load it from the cache.
        if (model !== undefined || !(err instanceof MeshError) || err.code !== 'not-found') throw err;
        const cached = await cache.get(hash);
        if (!cached) throw err;
        const second = task(cached.bytes);
        return timed(() => pool.run(second, { deadline }));
      }
    },
    async fault(failure) {
      // Evicted before anyone hears of the failure, so the next lease of this model asks the client for it.
      if (failure.reason === 'cache-corrupt') await cache.evictCorrupt(hash).catch(() => false);
    },
  };
};
