/** Test support: runs a stage plan's models one after another in onnxruntime-node, as a pipeline would. */
import * as ort from 'onnxruntime-node';
import type { StagePlan } from '../stage-plan.ts';

/** One thread per session: tests share two cores with everything else. */
const OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

/** Runs a whole model once; returns its outputs by name. */
export async function runWhole(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, OPTIONS);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/**
 * Runs every stage in order, feeding each the tensors its plan names, and checks as it goes that the plan's
 * `from` is where each input was made and that each stage model declares exactly the plan's inputs and outputs.
 * Returns the model outputs by name.
 */
export async function runChain(plan: StagePlan, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const values = new Map<string, { tensor: ort.Tensor; from: number | 'input' }>();
  for (const [name, tensor] of Object.entries(feeds)) values.set(name, { tensor, from: 'input' });
  for (const stage of plan.stages) {
    const session = await ort.InferenceSession.create(stage.model, OPTIONS);
    try {
      same(session.inputNames, stage.inputs.map((i) => i.name), `stage ${stage.index} inputs`);
      same(session.outputNames, stage.outputs.map((o) => o.name), `stage ${stage.index} outputs`);
      const stageFeeds: Record<string, ort.Tensor> = {};
      for (const input of stage.inputs) {
        const value = values.get(input.name);
        if (!value) throw new Error(`stage ${stage.index} needs '${input.name}', which no earlier stage made`);
        if (value.from !== input.from) throw new Error(`stage ${stage.index} input '${input.name}' is from ${value.from}, plan says ${input.from}`);
        stageFeeds[input.name] = value.tensor;
      }
      const out = await session.run(stageFeeds);
      for (const o of stage.outputs) values.set(o.name, { tensor: out[o.name]!, from: stage.index });
    } finally {
      await session.release();
    }
  }
  return Object.fromEntries(plan.outputs.map((o) => [o.name, values.get(o.name)!.tensor]));
}

/** Largest absolute difference between two float tensors of the same shape. */
export function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  if (a.dims.join() !== b.dims.join()) throw new Error(`shapes differ: [${a.dims}] vs [${b.dims}]`);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  return max;
}

function same(got: readonly string[], want: readonly string[], what: string): void {
  if (got.join('\n') !== want.join('\n')) throw new Error(`${what}: model declares [${got}], plan says [${want}]`);
}

export { ort };
