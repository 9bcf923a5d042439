/**
 * The stages a pipeline call runs, with their models loaded: the caller's stage plan (models by URL or as bytes),
 * or the caller's whole model split here into K stages by weight bytes (split-model.ts, the partitioner), so each
 * stage fits a contributor's memory, or by time measured in this page on the first input item (`balance:
 * 'time'`). Also what a page may show of them (PlannedStage).
 */
import { sha256Hex } from '../core/hash.ts';
import { DTYPES, tensorBytes, type DType } from '../protocol/tensor.ts';
import type { LoadedModel } from './model-source.ts';
import { splitModel as partition } from './split-model.ts';
import { checkStages, type ResolvedStage } from './pipeline-plan.ts';
import type { InputTensor, PipelineStage, PlannedStage, RunPipelineOptions } from './types.ts';

/** Loads (or splits) the stages of a pipeline call. */
export async function resolveStages(opts: RunPipelineOptions, loadModel: (url: string) => Promise<LoadedModel>): Promise<{ stages: ResolvedStage[]; plan: PlannedStage[] }> {
  if (typeof opts.stages === 'number') return splitModel(opts, loadModel);
  checkStages(opts.stages);
  const stages = await Promise.all(opts.stages.map((s) => loadStage(s, loadModel)));
  return { stages, plan: stages.map((s, index) => planned(s, index)) };
}

async function loadStage(s: PipelineStage, loadModel: (url: string) => Promise<LoadedModel>): Promise<ResolvedStage> {
  const common = { inputs: s.inputs.map((i) => ({ ...i })), outputs: [...s.outputs], ...(s.model.name === undefined ? {} : { name: s.model.name }) };
  if ('url' in s.model) return { ...common, url: s.model.url, model: await loadModel(s.model.url) };
  const bytes = s.model.bytes.slice().buffer;
  return { ...common, model: { bytes, hash: await sha256Hex(bytes) } };
}

async function splitModel(opts: RunPipelineOptions, loadModel: (url: string) => Promise<LoadedModel>): Promise<{ stages: ResolvedStage[]; plan: PlannedStage[] }> {
  const k = opts.stages as number;
  if (!opts.model?.url) throw new TypeError(`Cannot split a model into ${k} pipeline stages as 'model.url' must name it: current value is ${JSON.stringify(opts.model)}`);
  if (opts.balance !== undefined && opts.balance !== 'bytes' && opts.balance !== 'time') {
    throw new TypeError(`Cannot split a model into pipeline stages as 'balance' must be 'bytes' or 'time': current value is ${JSON.stringify(opts.balance)}`);
  }
  const whole = await loadModel(opts.model.url);
  const split = opts.balance === 'time'
    ? await partition(new Uint8Array(whole.bytes), { stages: k, balance: 'time', sample: firstItem(opts.inputs) })
    : await partition(new Uint8Array(whole.bytes), { stages: k });
  const stages = await Promise.all(split.stages.map(async (s, index): Promise<ResolvedStage> => {
    const last = index === split.stages.length - 1;
    const outputs = last && opts.outputs ? [...opts.outputs] : s.outputs.map((o) => o.name);
    const names = chainOrder(s.inputs.map((i) => i.name), split.stages[index - 1]?.outputs.map((o) => o.name));
    const inputs = names.map((n) => s.inputs.find((i) => i.name === n)!);
    const bytes = s.model.slice().buffer;
    return {
      inputs: inputs.map((i) => ({ name: i.name, dtype: dtypeOf(i.name, i.type) })),
      outputs,
      model: { bytes, hash: await sha256Hex(bytes) },
      ...(opts.model!.name === undefined ? {} : { name: `${opts.model!.name} (stage ${index + 1}/${k})` }),
    };
  }));
  checkStages(stages);
  return { stages, plan: stages.map((s, index) => ({ ...planned(s, index), weightBytes: split.stages[index]!.weightBytes })) };
}

/**
 * A stage's input names in the order the stage before hands them on (the activations travel packed in that
 * order; the stage model takes its inputs by name), when they are the same tensors; otherwise as the
 * partitioner listed them (checkStages then says what is wrong).
 */
export function chainOrder(names: string[], handedOn: string[] | undefined): string[] {
  if (!handedOn || handedOn.length !== names.length) return names;
  const mine = new Set(names);
  return handedOn.every((n) => mine.has(n)) ? [...handedOn] : names;
}

/** The first item (axis 0) of each input, as its own one-item tensor. */
export function firstItem(inputs: Record<string, InputTensor>): Record<string, InputTensor> {
  return Object.fromEntries(Object.entries(inputs).map(([name, t]) => {
    if (!(DTYPES as readonly string[]).includes(t.dtype) || !Array.isArray(t.dims) || !(t.dims[0]! >= 1)) {
      throw new TypeError(`Cannot time pipeline stages on input '${name}' as it must hold at least one item of a known dtype: current dims are ${JSON.stringify(t.dims)}`);
    }
    const dims = [1, ...t.dims.slice(1)];
    const bytes = tensorBytes({ dtype: t.dtype, dims });
    const data = new Uint8Array(t.data.buffer, t.data.byteOffset, Math.min(bytes, t.data.byteLength)).slice();
    if (data.byteLength !== bytes) throw new TypeError(`Cannot time pipeline stages on input '${name}' as it holds ${t.data.byteLength} bytes, under one item's ${bytes}`);
    return [name, { dtype: t.dtype, dims, data: typedArray(t.dtype, data.buffer) }];
  }));
}

function typedArray(dtype: DType, buf: ArrayBuffer): ArrayBufferView {
  switch (dtype) {
    case 'float32': return new Float32Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'uint32': return new Uint32Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'uint8': return new Uint8Array(buf);
  }
}

function dtypeOf(name: string, type: string): DType {
  if ((DTYPES as readonly string[]).includes(type)) return type as DType;
  throw new TypeError(`Cannot pass tensor '${name}' between pipeline stages as its type must be one of ${DTYPES.join(', ')}: current type is ${type}`);
}

function planned(s: ResolvedStage, index: number): PlannedStage {
  return { index, inputs: s.inputs.map((i) => ({ ...i })), outputs: [...s.outputs], hash: s.model.hash, bytes: s.model.bytes.byteLength };
}
