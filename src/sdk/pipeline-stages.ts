/**
 * The stages a pipeline call runs, with their models loaded: the caller's stage plan (models by URL or as bytes),
 * or the caller's whole model split here into K stages by weight bytes (split-model.ts, the partitioner), so each
 * stage fits a contributor's memory. Also what a page may show of them (PlannedStage).
 */
import { sha256Hex } from '../core/hash.ts';
import { DTYPES, type DType } from '../protocol/tensor.ts';
import type { LoadedModel } from './model-source.ts';
import { splitModel as partition } from './split-model.ts';
import { checkStages, type ResolvedStage } from './pipeline-plan.ts';
import type { PipelineStage, PlannedStage, RunPipelineOptions } from './types.ts';

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
  const whole = await loadModel(opts.model.url);
  const split = await partition(new Uint8Array(whole.bytes), { stages: k });
  const stages = await Promise.all(split.stages.map(async (s, index): Promise<ResolvedStage> => {
    const last = index === split.stages.length - 1;
    const outputs = last && opts.outputs ? [...opts.outputs] : s.outputs.map((o) => o.name);
    const bytes = s.model.slice().buffer;
    return {
      inputs: s.inputs.map((i) => ({ name: i.name, dtype: dtypeOf(i.name, i.type) })),
      outputs,
      model: { bytes, hash: await sha256Hex(bytes) },
      ...(opts.model!.name === undefined ? {} : { name: `${opts.model!.name} (stage ${index + 1}/${k})` }),
    };
  }));
  checkStages(stages);
  return { stages, plan: stages.map((s, index) => ({ ...planned(s, index), weightBytes: split.stages[index]!.weightBytes })) };
}

function dtypeOf(name: string, type: string): DType {
  if ((DTYPES as readonly string[]).includes(type)) return type as DType;
  throw new TypeError(`Cannot pass tensor '${name}' between pipeline stages as its type must be one of ${DTYPES.join(', ')}: current type is ${type}`);
}

function planned(s: ResolvedStage, index: number): PlannedStage {
  return { index, inputs: s.inputs.map((i) => ({ ...i })), outputs: [...s.outputs], hash: s.model.hash, bytes: s.model.bytes.byteLength };
}
