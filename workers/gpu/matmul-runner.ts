/**
 * Runs a MatmulTask (the built-in matmul kernel) on this worker's device with the adapter's tuned tile
 * configuration, the vec4 variant whenever K and the block's N allow it, and the product split into
 * blocks where A, B or C would not fit one storage binding (shaders/matmul.ts `planMatmulBlocks`).
 * A's row blocks are uploaded straight from the task's buffer (no copy); a block of B's columns is
 * gathered into a contiguous buffer only when B itself must be split. Bad tensors throw TypeError or
 * RangeError naming the field; every GPU buffer made here is destroyed on success and failure alike.
 */
import type { TensorData } from '../../src/protocol/tensor.ts';
import type { MatmulTask } from '../../src/protocol/worker.ts';
import {
  MATMUL_BINDINGS,
  MATMUL_ENTRY_POINT,
  type MatmulBlock,
  type MatmulConfig,
  matmulDispatch,
  matmulParams,
  matmulUsesVec4,
  matmulWgsl,
  planMatmulBlocks,
} from '../../shaders/matmul.ts';
import type { GpuDeviceManager, GpuHandle } from './device.ts';
import { withErrorScopes } from './error-scopes.ts';
import { sharedGpu } from './runner.ts';
import { tunedMatmul } from './tuned-matmul.ts';

/** Overrides for tests and benchmarks. */
export interface MatmulRunOptions {
  /** Tile configuration (default: the adapter's tuned one). */
  config?: MatmulConfig;
  /** Largest storage binding to use, below the device's (default: the device's). */
  maxBindingBytes?: number;
}

/** Shape of a checked task. */
interface Shape {
  m: number;
  k: number;
  n: number;
}

/** Runs `task` and returns `c` f32 [m, n]. */
export function runMatmul(task: MatmulTask, gpu: GpuDeviceManager = sharedGpu(), opts: MatmulRunOptions = {}): Promise<TensorData> {
  const shape = checkMatmulTask(task);
  return gpu.run(async (handle) => {
    const config = opts.config ?? (await tunedMatmul(handle)).config;
    const limits = handle.limits;
    const maxBindingBytes = Math.min(opts.maxBindingBytes ?? Infinity, limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const blocks = planMatmulBlocks(shape.m, shape.k, shape.n, { maxBindingBytes, maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension }, config);
    const a = new Float32Array(task.a.data, 0, shape.m * shape.k);
    const b = new Float32Array(task.b.data, 0, shape.k * shape.n);
    const c = blocks.length === 1 ? undefined : new Float32Array(shape.m * shape.n);
    let whole: ArrayBuffer | undefined;
    for (const block of blocks) {
      const out = await runBlock(handle, config, a, b, shape, block);
      if (!c) whole = out;
      else scatter(c, shape.n, block, new Float32Array(out));
    }
    return { name: 'c', dtype: 'float32', dims: [shape.m, shape.n], data: c ? c.buffer : whole! };
  });
}

/** Validates a MatmulTask's tensors and returns its shape. */
export function checkMatmulTask(task: MatmulTask): Shape {
  const { a, b } = task;
  for (const [name, t] of [['a', a], ['b', b]] as const) {
    if (!t || t.dtype !== 'float32') throw new TypeError(`Cannot run a matmul as '${name}' must be a float32 tensor: current dtype is ${t?.dtype}`);
    if (t.dims.length !== 2 || !t.dims.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new RangeError(`Cannot run a matmul as '${name}' must be a 2-D tensor with positive dims: current dims are [${t.dims}]`);
    }
    if (!(t.data instanceof ArrayBuffer) || t.data.byteLength !== t.dims[0]! * t.dims[1]! * 4) {
      throw new RangeError(`Cannot run a matmul as '${name}' must carry ${t.dims[0]! * t.dims[1]! * 4} bytes for dims [${t.dims}]: current length is ${t.data?.byteLength}`);
    }
  }
  const [m, k] = a.dims as [number, number];
  const [k2, n] = b.dims as [number, number];
  if (k !== k2) throw new RangeError(`Cannot run a matmul as the columns of 'a' (${k}) must equal the rows of 'b': current value is ${k2}`);
  return { m, k, n };
}

async function runBlock(handle: GpuHandle, config: MatmulConfig, a: Float32Array<ArrayBuffer>, b: Float32Array<ArrayBuffer>, shape: Shape, block: MatmulBlock): Promise<ArrayBuffer> {
  const { k, n } = shape;
  const { rows, cols } = block;
  const vec4 = matmulUsesVec4(k, cols);
  const { pipeline, layout } = await handle.pipelines.get(matmulWgsl(config, vec4), MATMUL_ENTRY_POINT, [...MATMUL_BINDINGS]);
  const { device } = handle;
  const made: GPUBuffer[] = [];
  const buffer = (size: number, usage: number) => {
    const buf = device.createBuffer({ size, usage });
    made.push(buf);
    return buf;
  };
  try {
    const cBytes = rows * cols * 4;
    const staging = await withErrorScopes(device, `run the ${rows}x${k}x${cols} matmul block`, () => {
      const aBuf = buffer(rows * k * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(aBuf, 0, a, block.row * k, rows * k);
      const bBuf = buffer(k * cols * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(bBuf, 0, cols === n ? b : gatherColumns(b, k, n, block.col, cols));
      const params = buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      device.queue.writeBuffer(params, 0, matmulParams(rows, cols, k));
      const cBuf = buffer(cBytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
      const staging = buffer(cBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, device.createBindGroup({
        layout,
        entries: [aBuf, bBuf, params, cBuf].map((buf, binding) => ({ binding, resource: { buffer: buf } })),
      }));
      pass.dispatchWorkgroups(...matmulDispatch(rows, cols, config));
      pass.end();
      encoder.copyBufferToBuffer(cBuf, 0, staging, 0, cBytes);
      device.queue.submit([encoder.finish()]);
      return staging;
    });
    await staging.mapAsync(GPUMapMode.READ);
    // slice() copies out of the mapping, which unmap() detaches; the copy is transferable.
    const out = staging.getMappedRange(0, cBytes).slice(0);
    staging.unmap();
    return out;
  } finally {
    for (const buf of made) buf.destroy();
  }
}

/** Columns [col, col+cols) of B [k, n] as a contiguous row-major [k, cols]. */
function gatherColumns(b: Float32Array, k: number, n: number, col: number, cols: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(k * cols);
  for (let r = 0; r < k; r++) out.set(b.subarray(r * n + col, r * n + col + cols), r * cols);
  return out;
}

/** Writes a block's C [rows, cols] into C [m, n]. */
function scatter(c: Float32Array, n: number, block: MatmulBlock, out: Float32Array): void {
  for (let r = 0; r < block.rows; r++) c.set(out.subarray(r * block.cols, (r + 1) * block.cols), (block.row + r) * n + block.col);
}
