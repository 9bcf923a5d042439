/**
 * Runs one WgslTask: checks it against the device, uploads inputs, dispatches one compute pass, reads the
 * outputs back and destroys every buffer it made, on success or failure.
 */
import type { TensorData } from '../../src/protocol/tensor.ts';
import type { WgslTask } from '../../src/protocol/worker.ts';
import { GpuDeviceManager, type GpuHandle } from './device.ts';
import { withErrorScopes } from './error-scopes.ts';
import { type PlannedBinding, planWgslTask } from './task-checks.ts';

let shared: GpuDeviceManager | undefined;

/** The worker's own device manager (one device per worker), created on first use. */
export function sharedGpu(): GpuDeviceManager {
  shared ??= new GpuDeviceManager();
  return shared;
}

/** Runs `task` on `gpu` and returns one TensorData per output binding, in binding order. */
export function runWgsl(task: WgslTask, gpu: GpuDeviceManager = sharedGpu()): Promise<TensorData[]> {
  return gpu.run((handle) => runOn(handle, task));
}

async function runOn(handle: GpuHandle, task: WgslTask): Promise<TensorData[]> {
  const plan = planWgslTask(task, handle);
  const { pipeline, layout } = await handle.pipelines.get(task.source, task.entryPoint, task.bindings);
  const { device } = handle;
  const made: GPUBuffer[] = [];
  try {
    const reads = await withErrorScopes(device, `run WGSL entry point '${task.entryPoint}'`, () => {
      const entries: GPUBindGroupEntry[] = [];
      const reads: { plan: PlannedBinding; buffer: GPUBuffer; staging: GPUBuffer }[] = [];
      const encoder = device.createCommandEncoder();
      for (const p of plan) {
        const buffer = p.role === 'output' ? outputBuffer(device, p, made) : inputBuffer(device, p, task.inputs[p.index]!.data, made);
        entries.push({ binding: p.binding, resource: { buffer } });
        if (p.role === 'output') {
          const staging = device.createBuffer({ size: p.bufferBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
          made.push(staging);
          reads.push({ plan: p, buffer, staging });
        }
      }
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({ layout, entries }));
      pass.dispatchWorkgroups(...task.dispatch);
      pass.end();
      for (const r of reads) encoder.copyBufferToBuffer(r.buffer, 0, r.staging, 0, r.plan.bufferBytes);
      device.queue.submit([encoder.finish()]);
      return reads;
    });
    await Promise.all(reads.map((r) => r.staging.mapAsync(GPUMapMode.READ)));
    return reads.map(({ plan: p, staging }) => {
      const spec = task.outputs[p.index]!;
      // slice() copies out of the mapping, which unmap() detaches; the copy is transferable.
      const data = staging.getMappedRange(0, p.bufferBytes).slice(0, p.bytes);
      staging.unmap();
      return { name: spec.name, dtype: spec.dtype, dims: [...spec.dims], data };
    });
  } finally {
    for (const b of made) b.destroy();
  }
}

function inputBuffer(device: GPUDevice, p: PlannedBinding, data: ArrayBuffer, made: GPUBuffer[]): GPUBuffer {
  const usage = p.role === 'uniform' ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE;
  const buffer = device.createBuffer({ size: p.bufferBytes, usage, mappedAtCreation: true });
  made.push(buffer);
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data));
  buffer.unmap();
  return buffer;
}

function outputBuffer(device: GPUDevice, p: PlannedBinding, made: GPUBuffer[]): GPUBuffer {
  // New buffers are zero-filled by WebGPU, so elements a kernel skips read back as 0, never stale data.
  const buffer = device.createBuffer({ size: p.bufferBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  made.push(buffer);
  return buffer;
}
