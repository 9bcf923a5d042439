/**
 * A short GFLOP/s probe with the project's own tiled matmul kernel, for the capability report the
 * matcher ranks contributors by. Sizes grow from 128^3 until one timed submission takes long enough to
 * trust (~30 ms) or the time budget (default 250 ms) would be exceeded, so a software rasteriser
 * (SwiftShader, ~1 GFLOP/s) and a data-centre GPU both finish quickly. The budget starts once the
 * pipeline is compiled: compilation is a one-off cost (SwiftShader takes ~0.8 s for this kernel, as its
 * compile time grows with workgroup memory) that is reported apart and leaves the pipeline cached for
 * the matmul shards that follow.
 */
import { MATMUL_BINDINGS, MATMUL_ENTRY_POINT, matmulDispatch, matmulFlops, matmulParams } from '../../shaders/matmul.ts';
import type { GpuHandle } from './device.ts';
import { withErrorScopes } from './error-scopes.ts';

/** One benchmark outcome: the rate and the run it was measured on. */
export interface GpuBenchResult {
  gflops: number;
  /** Square size of the measured matmul. */
  n: number;
  /** Dispatches in the measured submission. */
  reps: number;
  /** Wall time of the measured submission. */
  ms: number;
  /** Wall time of the measuring part (within the budget). */
  totalMs: number;
  /** Time to get the pipeline (0 when it was already cached). */
  compileMs: number;
}

const TARGET_MS = 30;
const MAX_N = 1024;
const MAX_REPS = 256;

/** Measures f32 matmul GFLOP/s on `gpu` with `source` (shaders/matmul.wgsl), within `budgetMs`. */
export async function benchMatmul(gpu: GpuHandle, source: string, budgetMs = 250): Promise<GpuBenchResult> {
  const compileStart = performance.now();
  const { pipeline, layout } = await gpu.pipelines.get(source, MATMUL_ENTRY_POINT, [...MATMUL_BINDINGS]);
  const start = performance.now();
  const compileMs = start - compileStart;
  let n = 128;
  let reps = 1;
  let problem = makeProblem(gpu.device, layout, n);
  try {
    await time(gpu.device, pipeline, problem, 1); // warm-up: first use may still compile on some drivers
    for (;;) {
      const ms = await time(gpu.device, pipeline, problem, reps);
      const elapsed = performance.now() - start;
      const result = { gflops: (matmulFlops(n, n, n) * reps) / (ms * 1e6), n, reps, ms, totalMs: elapsed, compileMs };
      if (ms >= TARGET_MS) return result;
      // Grow the work: 8x by doubling n, then more dispatches per submission once n is at its cap.
      const growth = n < MAX_N ? 8 : Math.min(MAX_REPS / reps, Math.max(2, Math.ceil(TARGET_MS / Math.max(ms, 0.25))));
      // Predicted next submission, with a margin for the upload of the larger inputs.
      if (growth <= 1 || elapsed + ms * growth * 1.25 > budgetMs) return result;
      if (n < MAX_N) {
        n *= 2;
        destroy(problem);
        problem = makeProblem(gpu.device, layout, n);
      } else {
        reps *= growth;
      }
    }
  } finally {
    destroy(problem);
  }
}

interface Problem {
  buffers: GPUBuffer[];
  bindGroup: GPUBindGroup;
  dispatch: [number, number, number];
}

function makeProblem(device: GPUDevice, layout: GPUBindGroupLayout, n: number): Problem {
  const data = new Float32Array(n * n);
  for (let i = 0; i < data.length; i++) data[i] = (i % 17) / 17 - 0.5;
  const storage = (usage: number) => device.createBuffer({ size: data.byteLength, usage });
  const a = storage(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const b = storage(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const c = storage(GPUBufferUsage.STORAGE);
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(a, 0, data);
  device.queue.writeBuffer(b, 0, data);
  device.queue.writeBuffer(params, 0, matmulParams(n, n, n));
  const buffers = [a, b, params, c];
  const bindGroup = device.createBindGroup({
    layout,
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return { buffers, bindGroup, dispatch: matmulDispatch(n, n) };
}

async function time(device: GPUDevice, pipeline: GPUComputePipeline, p: Problem, reps: number): Promise<number> {
  return withErrorScopes(device, 'run the matmul benchmark', async () => {
    // Drain earlier work (uploads, warm-up) so it is not billed to this measurement.
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, p.bindGroup);
    for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(...p.dispatch);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  });
}

function destroy(p: Problem): void {
  for (const b of p.buffers) b.destroy();
}
