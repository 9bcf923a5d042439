/** Client-written WGSL kernels: the client makes the shards; a contributor runs each as one dispatch on its GPU. */
import { sha256Hex } from '../../core/hash.ts';
import { packTensors, unpackTensors } from '../../core/sharding.ts';
import { MeshError } from '../../protocol/errors.ts';
import type { KernelSpec, ShardSpec } from '../../protocol/kernel.ts';
import type { TensorData } from '../../protocol/tensor.ts';
import { checkBytes, checkExact, type JobPlan, specOf } from '../job-plan.ts';
import type { RunWgslOptions } from '../types.ts';
import { NO_MODEL, type TaskMaker, timed } from './task.ts';

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

/** The contributor's side of a WGSL lease: one dispatch once the inputs are in and checked. */
export const wgslTask: TaskMaker<'wgsl'> = ({ assign, pool }) => ({
  ...NO_MODEL,
  async compute(input) {
    const { kernel, spec } = assign;
    const inputs = await input.whole();
    if (!spec.dispatch) {
      throw new MeshError('invalid-message', `Cannot run WGSL shard ${spec.index} as it has no dispatch size: current value is undefined`);
    }
    const task = {
      kind: 'wgsl' as const,
      source: kernel.source,
      entryPoint: kernel.entryPoint,
      bindings: kernel.bindings,
      inputs: unpackTensors(inputs, spec.inputs),
      outputs: spec.outputs,
      dispatch: [spec.dispatch[0], spec.dispatch[1], spec.dispatch[2]] as [number, number, number],
    };
    return timed(() => pool.run(task, { deadline: input.deadline() }));
  },
});
