/**
 * Runtime-neutral bandwidth measurement of the memory-bound kernels (bench/pages/kernels.ts in Chromium,
 * bench/kernels_deno.ts in Deno): element-wise add, row softmax and layer norm over n floats, against the
 * device's own copy rate (`copyBufferToBuffer` of the same n floats) measured in the same run on the same
 * device. Imports only shaders/, so it runs wherever WebGPU does.
 *
 * Bytes counted are each kernel's compulsory traffic (inputs read once, outputs written once): copy 2n, add 3n,
 * softmax and layer norm 2n floats. Softmax and layer norm read x twice (statistics, then output), so their
 * ratio to copy is at best ~2/3 unless the second read hits a cache; the ratio says how close each kernel comes
 * to moving its data at the copy engine's rate.
 */
import { elementwiseDispatch, elementwiseParams, elementwiseUsesVec4, elementwiseVec4Source } from '../shaders/elementwise.ts';
import { layerNormDispatch, layerNormParams, layerNormUsesVec4, layerNormVec4Source } from '../shaders/layernorm.ts';
import { ROW_WORKGROUP, rowConstants, rowLimits } from '../shaders/rows.ts';
import { softmaxDispatch, softmaxParams, softmaxUsesVec4, softmaxVec4Source } from '../shaders/softmax.ts';
import { randomFloats } from '../shaders/testing/reference.ts';

/** WGSL sources of the measured kernels (the runtime loads them: Vite `?raw` or Deno.readTextFile). */
export interface KernelSources {
  elementwise: string;
  softmax: string;
  layerNorm: string;
}

/** What to measure. */
export interface KernelsOptions {
  /** Floats per buffer; a multiple of `cols`. Default 16M. */
  n?: number;
  /** Row length of softmax and layer norm. Default 1024. */
  cols?: number;
  /** Workgroup width of the row kernels. Default ROW_WORKGROUP. */
  workgroup?: number;
  /** Each timed repeat batches enough dispatches to last about this long. Default 150 ms. */
  targetMs?: number;
  /** Most timed repeats per measure (the median counts). Default 3. */
  reps?: number;
  /**
   * Time for all measures; repeats are cut (down to one per measure) to fit it. Default 8 s: a GPU needs well
   * under a second, a CPU adapter (SwiftShader: 1-3 s per softmax of 16M floats) gets one or two repeats.
   */
  budgetMs?: number;
}

/** One measure: compulsory bytes per run, ms per run of each repeat, runs batched per repeat, GB/s at the median. */
export interface Bandwidth {
  name: string;
  bytes: number;
  ms: number[];
  iters: number;
  gbps: number;
  /** Largest sampled error against an f64 check (0 for the copy); a wrong kernel never counts. */
  maxErr: number;
  ok: boolean;
}

/** The whole measurement, as plain data (crosses page.evaluate and stdout JSON). */
export interface KernelsReport {
  runtime: string;
  adapter: string;
  n: number;
  rows: number;
  cols: number;
  workgroup: number;
  copy: Bandwidth;
  kernels: Bandwidth[];
  elapsedMs: number;
}

/** Sampled errors above this (relative to each check's scale) mean a wrong result. */
const MAX_REL_ERR = 1e-4;

/** Median of a non-empty list. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Measures copy, add, softmax and layer norm on `device`; see the module comment for what counts. */
export async function measureKernels(
  device: GPUDevice,
  sources: KernelSources,
  meta: { runtime: string; adapter: string },
  opts: KernelsOptions = {},
): Promise<KernelsReport> {
  const t0 = performance.now();
  const cols = opts.cols ?? 1024;
  const n = opts.n ?? 16 * 1024 * 1024;
  const workgroup = opts.workgroup ?? ROW_WORKGROUP;
  const targetMs = opts.targetMs ?? 150;
  const maxReps = opts.reps ?? 3;
  const budgetMs = opts.budgetMs ?? 8000;
  if (!Number.isInteger(n) || n < cols || n % cols !== 0) {
    throw new RangeError(`Cannot measure kernels as 'n' must be a positive multiple of cols ${cols}: current value is ${n}`);
  }
  const rows = n / cols;
  const bytes = n * 4;
  const limits = rowLimits(device.limits);

  const storage = (size: number, extra = 0) => device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extra });
  const uniform = (data: ArrayBuffer) => {
    const buf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, data);
    return buf;
  };
  const x = storage(bytes);
  const b = storage(bytes);
  const y = storage(bytes);
  const gamma = storage(cols * 4);
  const beta = storage(cols * 4);
  // randomFloats allocates a plain ArrayBuffer; the cast says so to WebGPU's typings.
  const floats = (count: number, seed: number) => randomFloats(count, seed) as Float32Array<ArrayBuffer>;
  const xs = floats(n, 1);
  const bs = floats(n, 2);
  const gs = floats(cols, 3);
  const betas = floats(cols, 4);
  device.queue.writeBuffer(x, 0, xs);
  device.queue.writeBuffer(b, 0, bs);
  device.queue.writeBuffer(gamma, 0, gs);
  device.queue.writeBuffer(beta, 0, betas);

  /** ms for `iters` runs of `encode` in one command buffer, from submission to completion (queue drained first). */
  const timeRuns = async (encode: (enc: GPUCommandEncoder) => void, iters: number) => {
    await device.queue.onSubmittedWorkDone();
    const start = performance.now();
    const enc = device.createCommandEncoder();
    for (let i = 0; i < iters; i++) encode(enc);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  let measuresLeft = 4; // copy, add, softmax, layer norm
  let budgetEnd = 0;
  /**
   * One or two untimed runs (warm-up and calibration), then up to maxReps repeats of enough runs to last about
   * targetMs each, as many as this measure's share of the remaining budget allows (at least one).
   */
  const measure = async (name: string, moved: number, encode: (enc: GPUCommandEncoder) => void, check: () => Promise<number>) => {
    let warm = await timeRuns(encode, 1);
    // A short first run may still carry first-touch costs: one more calibrates, for less than targetMs.
    if (warm < targetMs) warm = await timeRuns(encode, 1);
    const iters = Math.max(1, Math.min(1024, Math.round(targetMs / Math.max(warm, 1e-3))));
    const share = (budgetEnd - performance.now()) / measuresLeft--;
    const reps = Math.max(1, Math.min(maxReps, Math.floor(share / (warm * iters))));
    const ms: number[] = [];
    for (let r = 0; r < reps; r++) ms.push((await timeRuns(encode, iters)) / iters);
    const maxErr = await check();
    return { name, bytes: moved, ms, iters, gbps: moved / (median(ms) * 1e6), maxErr, ok: maxErr <= MAX_REL_ERR } satisfies Bandwidth;
  };
  const computePass = (pipeline: GPUComputePipeline, group: GPUBindGroup, dispatch: [number, number, number]) => (enc: GPUCommandEncoder) => {
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(...dispatch);
    pass.end();
  };
  const compile = (code: string, constants: Record<string, number> = {}) =>
    device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main', constants } });
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  /** Output rows `at` (each `cols` floats) read back. */
  const readRows = async (at: number[]) => {
    const staging = device.createBuffer({ size: at.length * cols * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    at.forEach((r, i) => enc.copyBufferToBuffer(y, r * cols * 4, staging, i * cols * 4, cols * 4));
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.destroy();
    return out;
  };
  const sampleRows = [0, rows >> 1, rows - 1];

  // The vec4 variants where the shape allows them: 4 floats per invocation per load (what a caller should dispatch).
  const softmaxWidth = softmaxUsesVec4(cols) ? 4 : 1;
  const layerNormWidth = layerNormUsesVec4(cols) ? 4 : 1;
  const [add, softmax, layerNorm] = await Promise.all([
    compile(elementwiseUsesVec4(n) ? elementwiseVec4Source(sources.elementwise) : sources.elementwise),
    compile(softmaxWidth === 4 ? softmaxVec4Source(sources.softmax) : sources.softmax, rowConstants(workgroup)),
    compile(layerNormWidth === 4 ? layerNormVec4Source(sources.layerNorm) : sources.layerNorm, rowConstants(workgroup)),
  ]);

  budgetEnd = performance.now() + budgetMs;
  const copy = await measure('copy', 2 * bytes, (enc) => enc.copyBufferToBuffer(x, 0, y, 0, bytes), async () => 0);

  const addGroup = bind(add, [x, b, uniform(elementwiseParams(n, 'add')), y]);
  const kernels = [await measure('elementwise add', 3 * bytes, computePass(add, addGroup, elementwiseDispatch(n, elementwiseUsesVec4(n) ? 4 : 1)), async () => {
    const got = await readRows(sampleRows);
    let worst = 0;
    sampleRows.forEach((r, i) => {
      for (let c = 0; c < cols; c++) {
        const j = r * cols + c;
        const want = xs[j]! + bs[j]!;
        worst = Math.max(worst, Math.abs(got[i * cols + c]! - want) / (Math.abs(xs[j]!) + Math.abs(bs[j]!) + 1e-30));
      }
    });
    return worst;
  })];

  const softmaxGroup = bind(softmax, [x, uniform(softmaxParams(rows, cols, { workgroup, width: softmaxWidth })), y]);
  kernels.push(await measure('row softmax', 2 * bytes, computePass(softmax, softmaxGroup, softmaxDispatch(rows, cols, limits, workgroup, softmaxWidth)), async () => {
    const got = await readRows(sampleRows);
    let worst = 0;
    sampleRows.forEach((r, i) => {
      let max = -Infinity;
      for (let c = 0; c < cols; c++) max = Math.max(max, xs[r * cols + c]!);
      let sum = 0;
      for (let c = 0; c < cols; c++) sum += Math.exp(xs[r * cols + c]! - max);
      for (let c = 0; c < cols; c++) {
        const want = Math.exp(xs[r * cols + c]! - max) / sum;
        worst = Math.max(worst, Math.abs(got[i * cols + c]! - want) / want);
      }
    });
    return worst;
  }));

  const eps = 1e-5;
  const layerNormGroup = bind(layerNorm, [x, gamma, beta, uniform(layerNormParams(rows, cols, { eps, workgroup, width: layerNormWidth })), y]);
  kernels.push(await measure('layer norm', 2 * bytes, computePass(layerNorm, layerNormGroup, layerNormDispatch(rows, cols, limits, workgroup, layerNormWidth)), async () => {
    const got = await readRows(sampleRows);
    let worst = 0;
    sampleRows.forEach((r, i) => {
      let mean = 0;
      for (let c = 0; c < cols; c++) mean += xs[r * cols + c]!;
      mean /= cols;
      let sq = 0;
      for (let c = 0; c < cols; c++) sq += (xs[r * cols + c]! - mean) ** 2;
      const inv = 1 / Math.sqrt(sq / cols + eps);
      for (let c = 0; c < cols; c++) {
        const d = xs[r * cols + c]! - mean;
        const want = d * inv * gs[c]! + betas[c]!;
        const scale = Math.abs(gs[c]!) * (Math.abs(d) + 1) * inv + Math.abs(betas[c]!);
        worst = Math.max(worst, Math.abs(got[i * cols + c]! - want) / scale);
      }
    });
    return worst;
  }));

  for (const buf of [x, b, y, gamma, beta]) buf.destroy();
  return { ...meta, n, rows, cols, workgroup, copy, kernels, elapsedMs: performance.now() - t0 };
}
