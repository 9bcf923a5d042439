/**
 * Picks the matmul tile configuration (shaders/matmul.ts) that runs fastest on one adapter, by timing
 * every candidate that fits the device's limits on the same square product, within a time budget.
 *
 * The size grows from 128 with the default configuration until one submission takes TARGET_MS (or the
 * size cap is reached, then more dispatches go in one submission), so a software rasteriser (SwiftShader,
 * llvmpipe: ~1 GFLOP/s) tunes at n=256 in a few seconds and a data-centre GPU at n=2048 with many
 * dispatches. All candidates compile concurrently first: on software adapters compilation costs more
 * than the timing. Candidates are timed in list order; when the budget runs out the best so far wins
 * (the result says how many were timed). Works on a bare GPUDevice, so Deno, pages and workers share it.
 */
import {
  checkMatmulConfig,
  MATMUL_BINDINGS,
  MATMUL_CANDIDATES,
  MATMUL_DEFAULT,
  MATMUL_ENTRY_POINT,
  type MatmulConfig,
  matmulConfigFits,
  matmulConfigName,
  matmulDispatch,
  matmulFlops,
  type MatmulLimits,
  matmulParams,
  matmulWgsl,
} from '../../shaders/matmul.ts';

/** One candidate's measured rate. */
export interface TuneTrial {
  name: string;
  gflops: number;
}

/** The winning configuration and how it was found. */
export interface TuneResult {
  config: MatmulConfig;
  /** Rate of `config` at `n` (GFLOP/s). */
  gflops: number;
  /** Square size the candidates were timed at. */
  n: number;
  /** Dispatches per timed submission. */
  reps: number;
  /** Every timed candidate, in timing order. */
  trials: TuneTrial[];
  /** Candidates that fit the limits but were not timed for lack of budget. */
  skipped: number;
  /** Wall time of the whole tuning, compilation included. */
  ms: number;
}

/** Tuning options. */
export interface TuneOptions {
  /** Time the candidates at this size instead of growing one (rounded up to a multiple of 4). */
  n?: number;
  /** Wall-time budget (default 4000 ms); at least the default configuration is always timed. */
  budgetMs?: number;
  /** Candidates to consider (default MATMUL_CANDIDATES). */
  candidates?: readonly MatmulConfig[];
}

const TARGET_MS = 25;
const MAX_N = 2048;
const MAX_REPS = 64;
const SAMPLES = 2;

/** Times the candidates that fit `limits` on `device` and returns the fastest. */
export async function autotuneMatmul(device: GPUDevice, limits: MatmulLimits, opts: TuneOptions = {}): Promise<TuneResult> {
  const started = performance.now();
  const budgetMs = opts.budgetMs ?? 4000;
  const candidates = (opts.candidates ?? MATMUL_CANDIDATES).filter((c) => matmulConfigFits(c, limits));
  if (candidates.length === 0) {
    throw new RangeError(`Cannot tune matmul as no candidate fits the device limits: ${JSON.stringify(limits)}`);
  }
  const compiled = candidates.map((c) => compile(device, c));
  // Rejections are observed when each candidate is awaited; keep them from surfacing as unhandled.
  for (const p of compiled) p.catch(() => {});

  const first = await compiled[0]!;
  let n = opts.n === undefined ? 128 : Math.ceil(opts.n / 4) * 4;
  let reps = 1;
  let problem = makeProblem(device, n);
  const trials: TuneTrial[] = [];
  let best: { config: MatmulConfig; gflops: number } | undefined;
  try {
    await timeRun(device, first, problem, candidates[0]!, 1); // warm-up
    if (opts.n === undefined) {
      // Grow the problem until one submission is long enough to time.
      for (;;) {
        const ms = await timeRun(device, first, problem, candidates[0]!, reps);
        if (ms >= TARGET_MS) break;
        if (n < MAX_N) {
          n = Math.min(MAX_N, n * 2);
          destroy(problem);
          problem = makeProblem(device, n);
        } else if (reps < MAX_REPS) {
          reps = Math.min(MAX_REPS, reps * Math.max(2, Math.ceil(TARGET_MS / Math.max(ms, 0.1))));
        } else {
          break;
        }
      }
    }
    let timed = 0;
    for (let i = 0; i < candidates.length; i++) {
      const config = candidates[i]!;
      if (i > 0 && performance.now() - started > budgetMs) break;
      let pipeline: GPUComputePipeline;
      try {
        pipeline = await compiled[i]!;
      } catch (err) {
        // A driver that rejects one configuration (e.g. too many registers) just loses that candidate.
        console.warn(`meshwork: matmul config ${matmulConfigName(config)} left out of tuning: ${(err as Error).message}`);
        timed++;
        continue;
      }
      if (i > 0) await timeRun(device, pipeline, problem, config, 1); // warm-up
      const samples: number[] = [];
      for (let s = 0; s < SAMPLES; s++) samples.push(await timeRun(device, pipeline, problem, config, reps));
      const ms = Math.min(...samples);
      const gflops = (matmulFlops(n, n, n) * reps) / (ms * 1e6);
      trials.push({ name: matmulConfigName(config), gflops });
      timed++;
      if (!best || gflops > best.gflops) best = { config, gflops };
    }
    if (!best) throw new Error('Cannot tune matmul as no candidate compiled');
    return { config: best.config, gflops: best.gflops, n, reps, trials, skipped: candidates.length - timed, ms: performance.now() - started };
  } finally {
    destroy(problem);
  }
}

/** A configuration read from a cache, re-checked against this device; undefined when it does not hold. */
export function storedConfig(config: unknown, limits: MatmulLimits): MatmulConfig | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const c = config as MatmulConfig;
  const copy: MatmulConfig = { bm: c.bm, bn: c.bn, bk: c.bk, tm: c.tm, tn: c.tn, ...(c.prefetch === undefined ? {} : { prefetch: c.prefetch }) };
  try {
    checkMatmulConfig(copy, limits);
    return copy;
  } catch {
    return undefined;
  }
}

/** `storedConfig`, or the first candidate that fits when the stored one does not hold. */
export function usableConfig(config: unknown, limits: MatmulLimits): MatmulConfig {
  return storedConfig(config, limits) ?? MATMUL_CANDIDATES.find((c) => matmulConfigFits(c, limits)) ?? MATMUL_DEFAULT;
}

async function compile(device: GPUDevice, config: MatmulConfig): Promise<GPUComputePipeline> {
  const module = device.createShaderModule({ code: matmulWgsl(config, true) });
  const layout = device.createBindGroupLayout({
    entries: MATMUL_BINDINGS.map((b) => ({
      binding: b.binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: b.role === 'input' ? 'read-only-storage' : b.role === 'uniform' ? 'uniform' : 'storage' },
    })),
  });
  return device.createComputePipelineAsync({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: MATMUL_ENTRY_POINT },
  });
}

interface Problem {
  n: number;
  buffers: GPUBuffer[];
}

function makeProblem(device: GPUDevice, n: number): Problem {
  const data = new Float32Array(n * n);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 17) / 17 - 0.5;
  const storage = (usage: number) => device.createBuffer({ size: data.byteLength, usage });
  const a = storage(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const b = storage(GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
  const c = storage(GPUBufferUsage.STORAGE);
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(a, 0, data);
  device.queue.writeBuffer(b, 0, data);
  device.queue.writeBuffer(params, 0, matmulParams(n, n, n));
  return { n, buffers: [a, b, params, c] };
}

async function timeRun(device: GPUDevice, pipeline: GPUComputePipeline, p: Problem, config: MatmulConfig, reps: number): Promise<number> {
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: p.buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  // Drain earlier work (uploads, warm-up) so it is not billed to this measurement.
  await device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  const [x, y, z] = matmulDispatch(p.n, p.n, config);
  for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(x, y, z);
  pass.end();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}

function destroy(p: Problem): void {
  for (const b of p.buffers) b.destroy();
}
