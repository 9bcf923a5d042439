/**
 * Checks a WgslTask against its own binding layout and against the device's limits before anything is
 * allocated, so a bad or oversized shard fails with a message naming the binding, the size and the limit.
 * Bad arguments throw TypeError/RangeError; a shard this device cannot hold throws MeshError('too-large').
 */
import { MeshError } from '../../src/protocol/errors.ts';
import { DTYPES, tensorBytes, type TensorSpec } from '../../src/protocol/tensor.ts';
import type { WgslTask } from '../../src/protocol/worker.ts';
import type { GpuHandle } from './device.ts';

/** One group-0 binding after checking: where its bytes come from (input index) or go (output index). */
export interface PlannedBinding {
  binding: number;
  role: 'input' | 'uniform' | 'output';
  /** Index into task.inputs (input/uniform) or task.outputs (output). */
  index: number;
  /** Bytes of the tensor. */
  bytes: number;
  /** Bytes of the GPU buffer: at least 4 and a multiple of 4, as WebGPU requires. */
  bufferBytes: number;
  name: string;
}

/** Validates `task` for the device behind `gpu` and returns its bindings in binding order. */
export function planWgslTask(task: WgslTask, gpu: Pick<GpuHandle, 'limits' | 'uniformLimits'>): PlannedBinding[] {
  if (typeof task.source !== 'string' || task.source.length === 0) {
    throw new TypeError(`Cannot run WGSL as 'source' must be a non-empty string: current value is ${typeof task.source}`);
  }
  if (typeof task.entryPoint !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(task.entryPoint)) {
    throw new TypeError(`Cannot run WGSL as 'entryPoint' must be an identifier: current value is ${String(task.entryPoint)}`);
  }
  if (!Array.isArray(task.bindings) || task.bindings.length === 0) {
    throw new TypeError('Cannot run WGSL as \'bindings\' must be a non-empty array: current value is ' + JSON.stringify(task.bindings));
  }
  const sorted = [...task.bindings].sort((a, b) => a.binding - b.binding);
  for (const [i, b] of sorted.entries()) {
    if (!Number.isInteger(b.binding) || b.binding < 0 || b.binding > 31) {
      throw new RangeError(`Cannot run WGSL as a binding number must be an integer 0..31: current value is ${b.binding}`);
    }
    if (b.role !== 'input' && b.role !== 'uniform' && b.role !== 'output') {
      throw new TypeError(`Cannot run WGSL as binding ${b.binding} has an unknown role: current value is ${String(b.role)}`);
    }
    if (i > 0 && sorted[i - 1]!.binding === b.binding) {
      throw new RangeError(`Cannot run WGSL as binding ${b.binding} is declared twice`);
    }
  }
  const fed = sorted.filter((b) => b.role !== 'output');
  const out = sorted.filter((b) => b.role === 'output');
  if (task.inputs.length !== fed.length) {
    throw new RangeError(`Cannot run WGSL as it has ${fed.length} input/uniform bindings but ${task.inputs.length} inputs were given`);
  }
  if (task.outputs.length !== out.length) {
    throw new RangeError(`Cannot run WGSL as it has ${out.length} output bindings but ${task.outputs.length} outputs were described`);
  }
  checkDispatch(task.dispatch, gpu.limits.maxComputeWorkgroupsPerDimension);

  const planned: PlannedBinding[] = [];
  let inputAt = 0;
  let outputAt = 0;
  for (const b of sorted) {
    const isOutput = b.role === 'output';
    const index = isOutput ? outputAt++ : inputAt++;
    const spec: TensorSpec = isOutput ? task.outputs[index]! : task.inputs[index]!;
    const bytes = specBytes(spec, b.binding);
    if (!isOutput) {
      const data = task.inputs[index]!.data;
      if (!(data instanceof ArrayBuffer)) {
        throw new TypeError(`Cannot run WGSL as binding ${b.binding} ('${spec.name}') data must be an ArrayBuffer: current value is ${Object.prototype.toString.call(data)}`);
      }
      if (data.byteLength !== bytes) {
        throw new RangeError(`Cannot run WGSL as binding ${b.binding} ('${spec.name}') holds ${data.byteLength} bytes but dtype ${spec.dtype} dims [${spec.dims.join(',')}] need ${bytes}`);
      }
    }
    const bufferBytes = Math.max(4, Math.ceil(bytes / 4) * 4);
    checkLimits(b, spec.name, bufferBytes, gpu);
    planned.push({ binding: b.binding, role: b.role, index, bytes, bufferBytes, name: spec.name });
  }
  const storage = planned.filter((p) => p.role !== 'uniform').length;
  if (storage > gpu.limits.maxStorageBuffersPerShaderStage) {
    throw new MeshError('too-large', `Cannot run WGSL as it binds ${storage} storage buffers, over this device's maxStorageBuffersPerShaderStage ${gpu.limits.maxStorageBuffersPerShaderStage}`);
  }
  const uniforms = planned.length - storage;
  if (uniforms > gpu.uniformLimits.maxUniformBuffersPerShaderStage) {
    throw new MeshError('too-large', `Cannot run WGSL as it binds ${uniforms} uniform buffers, over this device's maxUniformBuffersPerShaderStage ${gpu.uniformLimits.maxUniformBuffersPerShaderStage}`);
  }
  return planned;
}

function specBytes(spec: TensorSpec, binding: number): number {
  if (!(DTYPES as readonly string[]).includes(spec.dtype)) {
    throw new TypeError(`Cannot run WGSL as binding ${binding} has an unknown dtype: current value is ${String(spec.dtype)}`);
  }
  if (!Array.isArray(spec.dims) || !spec.dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`Cannot run WGSL as binding ${binding} ('${spec.name}') dims must be integers >= 0: current value is ${JSON.stringify(spec.dims)}`);
  }
  return tensorBytes(spec);
}

function checkDispatch(dispatch: readonly number[], max: number): void {
  if (!Array.isArray(dispatch) || dispatch.length !== 3) {
    throw new TypeError(`Cannot run WGSL as 'dispatch' must be [x, y, z]: current value is ${JSON.stringify(dispatch)}`);
  }
  for (const [i, d] of dispatch.entries()) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`Cannot run WGSL as dispatch[${i}] must be an integer >= 0: current value is ${d}`);
    }
    if (d > max) {
      throw new MeshError('too-large', `Cannot run WGSL as dispatch[${i}] = ${d} workgroups exceeds this device's maxComputeWorkgroupsPerDimension ${max}`);
    }
  }
}

function checkLimits(
  b: { binding: number; role: PlannedBinding['role'] },
  name: string,
  bytes: number,
  gpu: Pick<GpuHandle, 'limits' | 'uniformLimits'>,
): void {
  const [limitName, limit] = b.role === 'uniform'
    ? ['maxUniformBufferBindingSize', gpu.uniformLimits.maxUniformBufferBindingSize]
    : ['maxStorageBufferBindingSize', gpu.limits.maxStorageBufferBindingSize];
  if (bytes > limit) {
    throw new MeshError('too-large', `Cannot bind binding ${b.binding} ('${name}', ${b.role}) as its ${bytes} bytes exceed this device's ${limitName} ${limit}`);
  }
  if (bytes > gpu.limits.maxBufferSize) {
    throw new MeshError('too-large', `Cannot allocate binding ${b.binding} ('${name}') as its ${bytes} bytes exceed this device's maxBufferSize ${gpu.limits.maxBufferSize}`);
  }
}
