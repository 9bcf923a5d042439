/// <reference lib="deno.webgpu" />
/**
 * Running a row kernel over the chunks of shaders/chunks.ts in Deno tests: each chunk binds its windows
 * (offset, size) of the row buffers, with its own params uniform, all in one command buffer.
 */
import type { RowChunk } from '../chunks.ts';
import { testDevice } from './harness.ts';

const device = await testDevice();

/** A storage buffer holding `data`, or `bytes` zero bytes. */
export function storage(data: Float32Array | number, extraUsage = 0): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const buf = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extraUsage });
  if (typeof data !== 'number') device.queue.writeBuffer(buf, 0, data);
  return buf;
}

/**
 * Runs `source` once per chunk in one command buffer, binding each row buffer's window (offset, size) and
 * `whole` buffers entire, and returns the output buffer's contents (the last of `rowBuffers`). It takes
 * ownership of the buffers passed in and destroys them.
 */
export async function runChunked(opts: {
  source: string;
  chunks: RowChunk[];
  rowBuffers: { binding: number; buffer: GPUBuffer }[];
  whole?: { binding: number; buffer: GPUBuffer }[];
  uniformBinding: number;
  params: (chunk: RowChunk) => ArrayBuffer;
  dispatch: (chunk: RowChunk) => [number, number, number];
}): Promise<Float32Array> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: opts.source });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const out = opts.rowBuffers.at(-1)!.buffer;
  const read = device.createBuffer({ size: out.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  const uniforms: GPUBuffer[] = [];
  for (const chunk of opts.chunks) {
    const uniform = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(uniform, 0, opts.params(chunk));
    uniforms.push(uniform);
    const entries: GPUBindGroupEntry[] = [
      ...opts.rowBuffers.map(({ binding, buffer }, i) => {
        const w = chunk.windows[i]!;
        return { binding, resource: { buffer, offset: w.offset, size: w.size } };
      }),
      ...(opts.whole ?? []).map(({ binding, buffer }) => ({ binding, resource: { buffer } })),
      { binding: opts.uniformBinding, resource: { buffer: uniform } },
    ];
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(...opts.dispatch(chunk));
  }
  pass.end();
  encoder.copyBufferToBuffer(out, 0, read, 0, out.size);
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`WebGPU validation failed: ${error.message}`);
  await read.mapAsync(GPUMapMode.READ);
  const result = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const b of [read, ...uniforms, ...opts.rowBuffers.map((r) => r.buffer), ...(opts.whole ?? []).map((w) => w.buffer)]) b.destroy();
  return result;
}
