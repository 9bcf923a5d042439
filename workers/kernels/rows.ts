/**
 * Row-kernel tasks: the op's WGSL kernel (shaders/reduce, softmax, layernorm, elementwise) as one dispatch on
 * this worker's device through the WGSL runner, which checks every buffer against the device and compiles each
 * source once. The vec4 variant runs wherever the row length allows it (4 floats per load); dispatches are
 * sized for the limits every WebGPU device guarantees, so no device query is needed. The task's layout is
 * checked with the same rule the coordinator applied on submit (core/kernels/rows.ts): a shard that does not fit
 * its op fails with MeshError 'invalid-message' before anything is allocated.
 *
 * The WGSL texts come in as `sources` (the table passes the bundled ones), so this file also runs under Deno.
 */
import { rowsLayout, rowsOutput } from '../../src/core/kernels/rows.ts';
import { MeshError } from '../../src/protocol/errors.ts';
import type { TensorData } from '../../src/protocol/tensor.ts';
import type { RowsTask, WgslTask } from '../../src/protocol/worker.ts';
import { ELEMENTWISE_BINDINGS, ELEMENTWISE_ENTRY_POINT, elementwiseDispatch, elementwiseParams, elementwiseUsesVec4, elementwiseVec4Source } from '../../shaders/elementwise.ts';
import { LAYERNORM_BINDINGS, LAYERNORM_ENTRY_POINT, layerNormDispatch, layerNormParams, layerNormUsesVec4, layerNormVec4Source } from '../../shaders/layernorm.ts';
import { REDUCE_BINDINGS, REDUCE_ENTRY_POINT, reduceDispatch, reduceParams, reduceUsesVec4, reduceVec4Source } from '../../shaders/reduce.ts';
import { DEFAULT_ROW_LIMITS, ROW_WORKGROUP } from '../../shaders/rows.ts';
import { SOFTMAX_BINDINGS, SOFTMAX_ENTRY_POINT, softmaxDispatch, softmaxParams, softmaxUsesVec4, softmaxVec4Source } from '../../shaders/softmax.ts';
import type { GpuDeviceManager } from '../gpu/device.ts';
import { runWgsl, sharedGpu } from '../gpu/runner.ts';

/** The scalar WGSL texts of the row kernels (their vec4 variants are derived from them). */
export interface RowSources {
  reduce: string;
  softmax: string;
  layernorm: string;
  elementwise: string;
}

/** Runs a row-kernel task; its one output is `y`. */
export function runRows(task: RowsTask, sources: RowSources, gpu: GpuDeviceManager = sharedGpu()): Promise<TensorData[]> {
  let wgsl: WgslTask;
  try {
    wgsl = rowsWgslTask(task, sources);
  } catch (err) {
    return Promise.reject(err);
  }
  return runWgsl(wgsl, gpu);
}

/** The WGSL dispatch that computes `task` (checked first; see the file header). */
export function rowsWgslTask(task: RowsTask, sources: RowSources): WgslTask {
  const { rows, cols } = rowsLayout(task.op, task.inputs);
  const [x, ...rest] = task.inputs as [TensorData, ...TensorData[]];
  const y = rowsOutput(task.op, rows, cols);
  const params = (data: ArrayBuffer): TensorData => ({ name: 'params', dtype: 'uint32', dims: [data.byteLength / 4], data });
  const limits = DEFAULT_ROW_LIMITS;
  switch (task.op) {
    case 'sum':
    case 'max': {
      const width = reduceUsesVec4(cols) ? 4 : 1;
      return {
        source: width === 4 ? reduceVec4Source(sources.reduce) : sources.reduce,
        entryPoint: REDUCE_ENTRY_POINT,
        bindings: [...REDUCE_BINDINGS],
        inputs: [x, params(reduceParams(rows, cols, task.op, { width }))],
        outputs: [y],
        dispatch: reduceDispatch(rows, cols, limits, ROW_WORKGROUP, width),
      };
    }
    case 'softmax': {
      const width = softmaxUsesVec4(cols) ? 4 : 1;
      return {
        source: width === 4 ? softmaxVec4Source(sources.softmax) : sources.softmax,
        entryPoint: SOFTMAX_ENTRY_POINT,
        bindings: [...SOFTMAX_BINDINGS],
        inputs: [x, params(softmaxParams(rows, cols, { width }))],
        outputs: [y],
        dispatch: softmaxDispatch(rows, cols, limits, ROW_WORKGROUP, width),
      };
    }
    case 'layernorm': {
      const width = layerNormUsesVec4(cols) ? 4 : 1;
      const eps = task.eps === undefined ? {} : { eps: finite('eps', task.eps) };
      return {
        source: width === 4 ? layerNormVec4Source(sources.layernorm) : sources.layernorm,
        entryPoint: LAYERNORM_ENTRY_POINT,
        bindings: [...LAYERNORM_BINDINGS],
        inputs: [x, rest[0]!, rest[1]!, params(layerNormParams(rows, cols, { width, ...eps }))],
        outputs: [y],
        dispatch: layerNormDispatch(rows, cols, limits, ROW_WORKGROUP, width),
      };
    }
    case 'add':
    case 'mul':
    case 'relu':
    case 'affine': {
      const n = rows * cols;
      const width = elementwiseUsesVec4(n) ? 4 : 1;
      // The kernel binds b for every op; the unary ones get one vec4 of zeros (a binding's least size).
      const b = rest[0] ?? { name: 'b', dtype: 'float32', dims: [4], data: new ArrayBuffer(16) };
      const alpha = task.op === 'affine' ? finite('alpha', task.alpha) : 1;
      const beta = task.op === 'affine' ? finite('beta', task.beta) : 0;
      return {
        source: width === 4 ? elementwiseVec4Source(sources.elementwise) : sources.elementwise,
        entryPoint: ELEMENTWISE_ENTRY_POINT,
        bindings: [...ELEMENTWISE_BINDINGS],
        inputs: [x, b, params(elementwiseParams(n, task.op, alpha, beta))],
        outputs: [y],
        dispatch: elementwiseDispatch(n, width),
      };
    }
    default:
      throw new MeshError('invalid-message', `Cannot run a row kernel as its op is unknown: current value is ${JSON.stringify((task as { op?: unknown }).op)}`);
  }
}

function finite(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new MeshError('invalid-message', `Cannot run a row kernel as '${name}' must be a finite number: current value is ${String(value)}`);
  }
  return value;
}
